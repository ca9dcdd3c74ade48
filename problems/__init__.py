"""adbench's built-in problems: each file is loaded by path by adbench.registry."""
