"""Volta's tests, one package per package of src/volta."""
