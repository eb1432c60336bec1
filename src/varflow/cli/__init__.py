"""Typer command-line interface: ``varflow <workflow> <step> [OPTIONS]``."""
