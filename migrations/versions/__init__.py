"""Revision files; kept a package so they ship in the wheel."""
