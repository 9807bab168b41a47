"""Payments area: card (Stripe), VietQR bank transfer and cash on delivery behind one payment interface."""
