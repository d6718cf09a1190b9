"""Writes of settlements' instructions: instructions (instructions.py), standing settlement instructions (ssis.py)."""
