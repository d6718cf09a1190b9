"""Fixtures of the tests of the project package (backoffice/): the dashboard shell's pages need the page fixtures."""

from tests.pages import book, operator, signed_in

__all__ = ["book", "operator", "signed_in"]
