"""Check helpers called by the exercise notebooks, one module per exercise."""
