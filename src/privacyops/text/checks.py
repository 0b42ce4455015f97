"""Checksums that tell a real account or card number from a run of digits."""

from __future__ import annotations

__all__ = ["iban_valid", "luhn_valid"]


def luhn_valid(digits: str) -> bool:
    """The Luhn check of a payment card number (digits only)."""
    if not digits.isdigit() or len(digits) < 2:
        return False
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    """ISO 13616 mod-97 check of an IBAN without spaces (country, check digits, account)."""
    if not 15 <= len(iban) <= 34 or not iban[:2].isalpha() or not iban[2:4].isdigit():
        return False
    if not iban.isascii() or not iban.isalnum():
        return False
    moved = (iban[4:] + iban[:4]).upper()
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1
