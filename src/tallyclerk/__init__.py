"""tallyclerk."""
