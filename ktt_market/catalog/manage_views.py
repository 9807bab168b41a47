"""Product management for a unit's staff: products, stock, photos, certificates, batches, bulk import.

Also attaches, once, the two public pieces this area serves outside /manage: the media files
(`/media/<key>`, core/storage.py) with the `media_url` template helper, and the traceability pages
(`/trace/<token>`, traceability.py).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..core.access import admin_required
from ..core.errors import PermissionDenied, ServiceError
from ..core.formtools import field_error
from ..core.i18n import local_today
from ..core.images import max_image_bytes
from ..core.spreadsheets import SpreadsheetError, read_sheet
from ..core.storage import register_media
from ..core.uploads import PendingUploads
from ..extensions import db
from ..registry.access import staff_unit_or_404
from ..registry.models import Unit
from . import importing, services
from .access import (
    batch_of_or_404,
    certification_of_or_404,
    image_of_or_404,
    product_for_staff_or_404,
    selling_message,
)
from .forms import (
    CERTIFICATION_LABELS,
    SALE_UNIT_LABELS,
    BatchForm,
    CategoryForm,
    CertificationForm,
    ImageForm,
    ImportForm,
    NewProductForm,
    ProductForm,
    StockForm,
    category_choices,
)
from .models import Category, Product
from .traceability import register_trace, trace_url

bp = Blueprint("catalog_manage", __name__, url_prefix="/manage")

_uploads = PendingUploads("product-imports")
PREVIEW_ROWS = 200
PREVIEW_ERRORS = 500


@bp.record_once
def _public_routes(state: BlueprintSetupState) -> None:
    # Not under /manage, and ktt_market/__init__.py registers only this blueprint for the area.
    register_media(state.app)
    register_trace(state.app)


@bp.before_request
@login_required
def _logged_in():
    """Every management page needs a login."""


@bp.context_processor
def _labels() -> dict:
    locale = str(get_locale() or "vi")
    return {
        "SALE_UNIT_LABELS": SALE_UNIT_LABELS,
        "CERTIFICATION_LABELS": CERTIFICATION_LABELS,
        "category_name": lambda c: c.name(locale) if c is not None else "",
        "today": local_today(),
    }


def _status() -> int:
    """200 for a page, 422 for a form POST that did not go through."""
    return 200 if request.method == "GET" else 422


def _product_data(form: ProductForm) -> services.ProductData:
    data = services.ProductData(
        name=form.name.data,
        sku=form.sku.data,
        category_id=int(form.category_id.data),
        sale_unit=form.sale_unit.data,
        price_vnd=form.price_vnd.data,
        min_quantity=form.min_quantity.data,
        quantity_step=form.quantity_step.data,
        low_stock_threshold=form.low_stock_threshold.data,
        description=form.description.data or "",
    )
    if isinstance(form, NewProductForm):
        data.stock = form.stock.data
        data.published = form.published.data
    return data


# ------------------------------------------------------------------ products of a unit


def _list_page(unit: Unit, status: int = 200):
    return render_template(
        "catalog/manage/products.html",
        unit=unit,
        products=services.products_of(unit),
        cannot_sell=selling_message(unit),
    ), status


@bp.get("/units/<int:unit_id>/products")
def products(unit_id: int):
    unit = staff_unit_or_404(unit_id, current_user)
    return _list_page(unit)


@bp.route("/units/<int:unit_id>/products/new", methods=["GET", "POST"])
def new_product(unit_id: int):
    unit = staff_unit_or_404(unit_id, current_user)
    form = NewProductForm()
    form.category_id.choices = category_choices(_("Choose a category"))
    cannot_sell = selling_message(unit)
    if form.validate_on_submit():
        try:
            product = services.create_product(unit, actor=current_user, data=_product_data(form))
            db.session.commit()
        except PermissionDenied:
            abort(404)
        except ServiceError as exc:
            db.session.rollback()
            field_error(form, exc, "name")
        except IntegrityError:
            # Someone gave another product the same code a moment ago.
            db.session.rollback()
            form.sku.errors = [_("Another product of this unit already has this code.")]
        else:
            flash(_("The product %(name)s is saved.", name=product.name), "success")
            return redirect(url_for(".edit_product", product_id=product.id))
    elif request.method == "POST" and cannot_sell:
        form.name.errors = [*form.name.errors, cannot_sell]
    return render_template(
        "catalog/manage/product_form.html", unit=unit, form=form, product=None, cannot_sell=cannot_sell
    ), _status()


@bp.route("/products/<int:product_id>", methods=["GET", "POST"])
def edit_product(product_id: int):
    product = product_for_staff_or_404(product_id, current_user)
    form = ProductForm(obj=product)
    form.category_id.choices = category_choices(_("Choose a category"))
    if form.validate_on_submit():
        try:
            services.update_product(product, actor=current_user, data=_product_data(form))
            db.session.commit()
        except PermissionDenied:
            abort(404)
        except ServiceError as exc:
            db.session.rollback()
            field_error(form, exc, "name")
        except IntegrityError:
            db.session.rollback()
            form.sku.errors = [_("Another product of this unit already has this code.")]
        else:
            flash(_("The product %(name)s is saved.", name=product.name), "success")
            return redirect(url_for(".edit_product", product_id=product.id))
    return render_template(
        "catalog/manage/product_form.html",
        unit=product.unit,
        form=form,
        product=product,
        cannot_sell=selling_message(product.unit),
    ), _status()


@bp.route("/products/<int:product_id>/stock", methods=["GET", "POST"])
def stock(product_id: int):
    product = product_for_staff_or_404(product_id, current_user)
    form = StockForm(obj=product)
    if form.validate_on_submit():
        try:
            services.adjust_stock(product, actor=current_user, stock=form.stock.data)
        except ServiceError as exc:
            db.session.rollback()
            field_error(form, exc, "stock")
        else:
            db.session.commit()
            flash(_("Stock of %(name)s is now %(stock)s.", name=product.name, stock=product.stock), "success")
            return redirect(url_for(".products", unit_id=product.unit_id))
    return render_template("catalog/manage/stock.html", product=product, unit=product.unit, form=form), _status()


def _publish(product_id: int, published: bool):
    product = product_for_staff_or_404(product_id, current_user)
    try:
        services.set_published(product, actor=current_user, published=published)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _list_page(product.unit, 422)
    db.session.commit()
    if published:
        flash(_("%(name)s is on sale.", name=product.name), "success")
    else:
        flash(_("%(name)s is no longer on sale.", name=product.name), "success")
    return redirect(url_for(".products", unit_id=product.unit_id))


@bp.post("/products/<int:product_id>/publish")
def publish(product_id: int):
    return _publish(product_id, True)


@bp.post("/products/<int:product_id>/unpublish")
def unpublish(product_id: int):
    return _publish(product_id, False)


# ------------------------------------------------------------------ photos


def _images_page(product: Product, form: ImageForm, status: int = 200):
    return render_template(
        "catalog/manage/images.html",
        product=product,
        unit=product.unit,
        form=form,
        max_mb=max_image_bytes() // (1024 * 1024),
        max_images=services.MAX_IMAGES,
    ), status


@bp.route("/products/<int:product_id>/images", methods=["GET", "POST"])
def images(product_id: int):
    product = product_for_staff_or_404(product_id, current_user)
    form = ImageForm()
    if form.validate_on_submit():
        # One byte past the limit is enough to know the file is too large.
        data = form.file.data.read(max_image_bytes() + 1)
        try:
            services.add_image(product, actor=current_user, data=data, alt=form.alt.data)
        except ServiceError as exc:
            db.session.rollback()
            field_error(form, exc, "file")
        else:
            db.session.commit()
            flash(_("The photo is added."), "success")
            return redirect(url_for(".images", product_id=product.id))
    return _images_page(product, form, _status())


@bp.post("/products/<int:product_id>/images/<int:image_id>/delete")
def delete_image(product_id: int, image_id: int):
    product = product_for_staff_or_404(product_id, current_user)
    image = image_of_or_404(product, image_id)
    keys = services.remove_image(image, actor=current_user)
    db.session.commit()
    services.delete_files(keys)
    flash(_("The photo is removed."), "success")
    return redirect(url_for(".images", product_id=product.id))


@bp.post("/products/<int:product_id>/images/<int:image_id>/move")
def move_image(product_id: int, image_id: int):
    product = product_for_staff_or_404(product_id, current_user)
    image = image_of_or_404(product, image_id)
    offset = -1 if request.form.get("direction") == "up" else 1
    services.move_image(image, actor=current_user, offset=offset)
    db.session.commit()
    return redirect(url_for(".images", product_id=product.id))


# ------------------------------------------------------------------ certifications


def _certifications_page(product: Product, form: CertificationForm, status: int = 200):
    return render_template("catalog/manage/certifications.html", product=product, unit=product.unit, form=form), status


@bp.route("/products/<int:product_id>/certifications", methods=["GET", "POST"])
def certifications(product_id: int):
    product = product_for_staff_or_404(product_id, current_user)
    form = CertificationForm()
    if form.validate_on_submit():
        data = services.CertificationData(
            kind=form.kind.data,
            number=form.number.data,
            issued_on=form.issued_on.data,
            valid_until=form.valid_until.data,
            stars=int(form.stars.data) if form.stars.data else None,
            issuer=form.issuer.data,
            name=form.name.data,
        )
        try:
            services.add_certification(product, actor=current_user, data=data)
        except ServiceError as exc:
            db.session.rollback()
            field_error(form, exc, "number")
        else:
            db.session.commit()
            flash(_("The certificate is added."), "success")
            return redirect(url_for(".certifications", product_id=product.id))
    return _certifications_page(product, form, _status())


@bp.post("/products/<int:product_id>/certifications/<int:certification_id>/delete")
def delete_certification(product_id: int, certification_id: int):
    product = product_for_staff_or_404(product_id, current_user)
    certification = certification_of_or_404(product, certification_id)
    services.remove_certification(certification, actor=current_user)
    db.session.commit()
    flash(_("The certificate is removed."), "success")
    return redirect(url_for(".certifications", product_id=product.id))


# ------------------------------------------------------------------ batches


@bp.route("/products/<int:product_id>/batches", methods=["GET", "POST"])
def batches(product_id: int):
    product = product_for_staff_or_404(product_id, current_user)
    form = BatchForm()
    if form.validate_on_submit():
        data = services.BatchData(
            code=form.code.data,
            produced_on=form.produced_on.data,
            expires_on=form.expires_on.data,
            note=form.note.data,
        )
        try:
            services.add_batch(product, actor=current_user, data=data)
            db.session.commit()
        except ServiceError as exc:
            db.session.rollback()
            field_error(form, exc, "code")
        except IntegrityError:
            db.session.rollback()
            form.code.errors = [_("This product already has a batch with this code.")]
        else:
            flash(_("The batch is added. Print its QR code for the packaging."), "success")
            return redirect(url_for(".batches", product_id=product.id))
    return render_template(
        "catalog/manage/batches.html", product=product, unit=product.unit, form=form, trace_url=trace_url
    ), _status()


@bp.post("/products/<int:product_id>/batches/<int:batch_id>/delete")
def delete_batch(product_id: int, batch_id: int):
    product = product_for_staff_or_404(product_id, current_user)
    batch = batch_of_or_404(product, batch_id)
    services.remove_batch(batch, actor=current_user)
    db.session.commit()
    flash(_("The batch is removed; its traceability page no longer opens."), "success")
    return redirect(url_for(".batches", product_id=product.id))


# ------------------------------------------------------------------ bulk import


def _stored_import(unit: Unit, token: str) -> tuple[bytes, str]:
    """The file this user uploaded for this unit under `token`; 404 for anyone else's or a forgotten one."""
    stored = _uploads.load(token, unit_id=unit.id, user_id=current_user.id)
    if stored is None:
        abort(404)
    return stored


@bp.route("/units/<int:unit_id>/products/import", methods=["GET", "POST"])
def import_upload(unit_id: int):
    unit = staff_unit_or_404(unit_id, current_user)
    form = ImportForm()
    if form.validate_on_submit():
        data = form.file.data.read()
        try:
            read_sheet(data)
        except SpreadsheetError:
            form.file.errors = [_("This file cannot be read. Upload a UTF-8 CSV or an XLSX file.")]
        else:
            token = _uploads.save(
                data, filename=form.file.data.filename or "", unit_id=unit.id, user_id=current_user.id
            )
            return redirect(url_for(".import_preview", unit_id=unit.id, token=token))
    return render_template(
        "catalog/manage/import.html",
        unit=unit,
        form=form,
        columns=importing.COLUMNS,
        cannot_sell=selling_message(unit),
    ), _status()


def _preview(unit: Unit, token: str, filename: str, plan: importing.ProductImportPlan, status: int = 200):
    locale = str(get_locale() or "vi")
    names = {c.id: c.name(locale) for c in db.session.scalars(select(Category))}
    return render_template(
        "catalog/manage/import_preview.html",
        unit=unit,
        token=token,
        plan=plan,
        filename=filename,
        changes=plan.rows[:PREVIEW_ROWS],
        errors=plan.errors[:PREVIEW_ERRORS],
        display=lambda column, value: importing.display_value(column, value, names),
    ), status


@bp.get("/units/<int:unit_id>/products/import/<token>")
def import_preview(unit_id: int, token: str):
    unit = staff_unit_or_404(unit_id, current_user)
    data, filename = _stored_import(unit, token)
    return _preview(unit, token, filename, importing.plan_import(unit, data, actor=current_user))


@bp.post("/units/<int:unit_id>/products/import/<token>/confirm")
def import_confirm(unit_id: int, token: str):
    unit = staff_unit_or_404(unit_id, current_user)
    data, filename = _stored_import(unit, token)
    # The catalogue may have changed since the preview: plan again from the stored file.
    plan = importing.plan_import(unit, data, actor=current_user)
    if not plan.ok:
        flash(_("The file has errors; nothing was imported."), "error")
        return _preview(unit, token, filename, plan, 422)
    try:
        importing.apply_import(unit, plan, actor=current_user)
        db.session.commit()
    except (ServiceError, IntegrityError):
        db.session.rollback()
        flash(_("The products changed while you were importing. Check the preview again."), "error")
        return redirect(url_for(".import_preview", unit_id=unit.id, token=token))
    _uploads.discard(token)
    flash(_("Import done: %(summary)s.", summary=plan.summary()), "success")
    return redirect(url_for(".products", unit_id=unit.id))


@bp.post("/units/<int:unit_id>/products/import/<token>/cancel")
def import_cancel(unit_id: int, token: str):
    unit = staff_unit_or_404(unit_id, current_user)
    _stored_import(unit, token)
    _uploads.discard(token)
    flash(_("The import was cancelled; nothing was written."), "info")
    return redirect(url_for(".import_upload", unit_id=unit.id))


# ---------------------------------------------------------------- the category tree (platform admins)


def _category_form(category: Category | None = None) -> CategoryForm:
    form = CategoryForm(obj=category)
    form.parent_id.choices = category_choices(_("None (top level)"))
    if category is not None and request.method == "GET":
        form.parent_id.data = str(category.parent_id or "")
    return form


def _category_data(form: CategoryForm) -> services.CategoryData:
    return services.CategoryData(
        slug=form.slug.data,
        name_vi=form.name_vi.data,
        name_en=form.name_en.data,
        # Optional() passes a blank value ("\u3000") without checking it against the choices.
        parent_id=int(form.parent_id.data) if (form.parent_id.data or "").strip() else None,
        position=form.position.data or 0,
    )


@bp.route("/categories", methods=["GET", "POST"])
@admin_required
def categories():
    form = _category_form()
    if form.validate_on_submit():
        try:
            category = services.create_category(actor=current_user, data=_category_data(form))
        except ServiceError as exc:
            getattr(form, exc.field or "slug").errors.append(exc.message)
        else:
            db.session.commit()
            flash(_("Category %(name)s added.", name=category.name(get_locale())), "success")
            return redirect(url_for(".categories"))
    return render_template(
        "catalog/manage/categories.html", form=form, tree=category_choices()
    ), 200 if request.method == "GET" else 422


@bp.route("/categories/<int:category_id>", methods=["GET", "POST"])
@admin_required
def edit_category(category_id: int):
    category = db.get_or_404(Category, category_id)
    form = _category_form(category)
    if form.validate_on_submit():
        try:
            services.update_category(category, actor=current_user, data=_category_data(form))
        except ServiceError as exc:
            db.session.rollback()
            getattr(form, exc.field or "slug").errors.append(exc.message)
        else:
            db.session.commit()
            flash(_("Category saved."), "success")
            return redirect(url_for(".categories"))
    return render_template(
        "catalog/manage/category_edit.html", form=form, category=category
    ), 200 if request.method == "GET" else 422
