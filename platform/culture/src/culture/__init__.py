"""Code location of the department Culture: imports, lakehouse layers, exports."""
