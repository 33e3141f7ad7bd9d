"""Code location of the department Enseignement (education): imports, lakehouse layers, exports."""
