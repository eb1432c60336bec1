"""s2e: personal-genome sequence-to-expression models (the SAGE-net method, re-implemented)."""
