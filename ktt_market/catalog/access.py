"""Who may manage which product: the staff of its unit, and nobody else.

Like registry/access.py, anything a user may not reach is a 404, so that staff of one cooperative
cannot even learn which product ids belong to another.
"""

from __future__ import annotations

from flask import abort
from flask_babel import gettext as _

from ..accounts.models import User
from ..core.errors import ServiceError
from ..extensions import db
from ..registry.access import staff_role
from ..registry.models import Unit
from .models import Batch, Certification, Product, ProductImage


def product_for_staff_or_404(product_id: int, user: User) -> Product:
    """Return the product if `user` is staff of its unit; else 404."""
    product = db.session.get(Product, product_id)
    if product is None or not user.is_authenticated or staff_role(user, product.unit_id) is None:
        abort(404)
    return product


def image_of_or_404(product: Product, image_id: int) -> ProductImage:
    """Return one image of `product`; an id of another product's image is a 404."""
    image = db.session.get(ProductImage, image_id)
    if image is None or image.product_id != product.id:
        abort(404)
    return image


def certification_of_or_404(product: Product, certification_id: int) -> Certification:
    """Return one certificate of `product`; another product's is a 404."""
    certification = db.session.get(Certification, certification_id)
    if certification is None or certification.product_id != product.id:
        abort(404)
    return certification


def batch_of_or_404(product: Product, batch_id: int) -> Batch:
    """Return one batch of `product`; another product's is a 404."""
    batch = db.session.get(Batch, batch_id)
    if batch is None or batch.product_id != product.id:
        abort(404)
    return batch


def selling_message(unit: Unit) -> str | None:
    """Say why `unit` cannot put products on sale, or None when it can."""
    if unit.can_sell:
        return None
    if unit.dissolved_on is not None:
        return _("A dissolved unit cannot sell on the platform.")
    return _(
        "Your unit must be approved by the province before it can sell. "
        "You can add products once the province has approved it."
    )


def require_can_sell(unit: Unit) -> None:
    """Raise ServiceError unless `unit` is approved and not dissolved."""
    message = selling_message(unit)
    if message:
        raise ServiceError(message)
