"""One self-contained HTML report of a varflow results folder (plots embedded, no network)."""
