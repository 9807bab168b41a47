"""The demo's catalogue: about thirty products of the approved demo cooperatives, with photos made here.

Products go through the catalogue services, as a cooperative's staff would add them, so the demo obeys
every rule the pages do. Everything is keyed (a product by its unit and code, a certificate by its
number, a batch by its code), so loading twice adds nothing.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select

from ..accounts.models import User
from ..catalog import services
from ..catalog.models import Batch, Category, Certification, Product
from ..core.i18n import local_today
from ..core.text import fold
from ..extensions import db
from ..registry.models import Unit

# Dates are days before the day the demo is loaded, so that certificates and batches look current
# whenever it is loaded; codes and numbers stay fixed, so a second load still adds nothing.


@dataclass(frozen=True)
class DemoCertificate:
    kind: str
    number: str
    issued_days_ago: int
    stars: int | None = None
    issuer: str | None = None


@dataclass(frozen=True)
class DemoBatch:
    code: str
    produced_days_ago: int
    keeps_days: int | None = None


@dataclass(frozen=True)
class DemoProduct:
    unit_code: str
    sku: str
    name: str
    category: str  # slug
    sale_unit: str
    price_vnd: int
    stock: int
    description: str
    min_quantity: int = 1
    quantity_step: int = 1
    certificates: tuple[DemoCertificate, ...] = ()
    batches: tuple[DemoBatch, ...] = ()
    featured: bool = False


OCOP_VL = "UBND tỉnh Vĩnh Long"
VIETGAP_ORG = "Trung tâm Chứng nhận Phù hợp (QUACERT)"
ORGANIC_ORG = "Tổ chức chứng nhận hữu cơ Việt Nam"

# fmt: off
PRODUCTS = (
    # ---- Hợp tác xã Nông nghiệp Dừa sáp Cầu Kè
    DemoProduct("2100512345", "DS-01", "Dừa sáp Cầu Kè loại 1", "san-pham-dua", "piece", 150_000, 120,
                "Trái dừa sáp đặc ruột, cơm dẻo, nước sệt; chọn trái loại 1 từ vườn thành viên ở Cầu Kè.",
                certificates=(DemoCertificate("ocop", "OCOP-TV-2025-045", 300, 4, OCOP_VL),),
                batches=(DemoBatch("DS-L11", 5, 30),), featured=True),
    DemoProduct("2100512345", "DS-02", "Cơm dừa sáp đông lạnh", "san-pham-dua", "pack", 95_000, 60,
                "Cơm dừa sáp nạo sẵn, cấp đông ngay sau khi tách trái; gói 500 g.",
                batches=(DemoBatch("CDS-L10", 20, 180),)),
    DemoProduct("2100512345", "DS-03", "Dừa xiêm xanh", "trai-cay", "piece", 15_000, 400,
                "Dừa xiêm xanh nước ngọt, giao theo chục.", min_quantity=10, quantity_step=10),
    DemoProduct("2100512345", "DS-04", "Kẹo dừa sáp", "keo-dua", "pack", 45_000, 80,
                "Kẹo dừa làm từ cơm dừa sáp, vị béo đặc trưng; gói 300 g."),
    DemoProduct("2100512345", "DS-05", "Gạo ST25 ruộng tôm", "gao", "bag", 185_000, 70,
                "Gạo ST25 trồng luân canh trên ruộng nuôi tôm, túi 5 kg.",
                certificates=(DemoCertificate("organic", "HC-2025-0311", 200, issuer=ORGANIC_ORG),)),
    DemoProduct("2100512345", "DS-06", "Thạch dừa sáp", "thuc-pham-che-bien", "jar", 38_000, 0,
                "Thạch dừa sáp ăn liền, hũ 450 g."),
    # ---- Hợp tác xã Thủy sản Long Hữu
    DemoProduct("2100634781", "LH-01", "Tôm khô Duyên Hải", "tom", "pack", 420_000, 45,
                "Tôm thẻ phơi nắng tự nhiên, không phẩm màu; gói 500 g.",
                certificates=(DemoCertificate("ocop", "OCOP-TV-2024-112", 520, 3, OCOP_VL),),
                batches=(DemoBatch("TK-L09", 40, 180),), featured=True),
    DemoProduct("2100634781", "LH-02", "Tôm thẻ chân trắng tươi", "tom", "kg", 220_000, 90,
                "Tôm thẻ size 40 con/kg, thu hoạch trong ngày, đóng thùng đá.",
                certificates=(DemoCertificate("vietgap", "VG-TS-2023-0815", 800, issuer=VIETGAP_ORG),)),
    DemoProduct("2100634781", "LH-03", "Cua biển Duyên Hải", "thuy-san", "kg", 480_000, 25,
                "Cua gạch nuôi quảng canh trong rừng đước, 3 con/kg."),
    DemoProduct("2100634781", "LH-04", "Khô cá lóc đồng", "thuy-san", "pack", 190_000, 40,
                "Khô cá lóc một nắng, gói 500 g."),
    DemoProduct("2100634781", "LH-05", "Mắm tôm chua", "thuc-pham-che-bien", "jar", 75_000, 3,
                "Mắm tôm chua theo cách làm truyền thống, hũ 500 g."),
    DemoProduct("2100634781", "LH-06", "Chả tôm Long Hữu", "thuc-pham-che-bien", "pack", 130_000, 30,
                "Chả tôm hấp sẵn, cấp đông; gói 500 g."),
    # ---- Hợp tác xã Bưởi Năm Roi Bình Minh
    DemoProduct("1500432198", "BNR-01", "Bưởi Năm Roi Bình Minh", "buoi", "kg", 35_000, 600,
                "Bưởi Năm Roi không hạt, vị ngọt thanh; trái 1,2–1,5 kg.", min_quantity=2,
                certificates=(DemoCertificate("vietgap", "VG-TT-2025-0301", 250, issuer=VIETGAP_ORG),),
                batches=(DemoBatch("BNR-L10", 12, 60),), featured=True),
    DemoProduct("1500432198", "BNR-02", "Bưởi da xanh ruột hồng", "buoi", "kg", 55_000, 300,
                "Bưởi da xanh ruột hồng, múi ráo, trái 1,5–2 kg.", min_quantity=2,
                certificates=(DemoCertificate("ocop", "OCOP-VL-2024-031", 420, 4, OCOP_VL),
                              DemoCertificate("vietgap", "VG-TT-2025-0302", 250, issuer=VIETGAP_ORG)),
                batches=(DemoBatch("BDX-L11", 7, 60),)),
    DemoProduct("1500432198", "BNR-03", "Mật ong hoa bưởi", "mat-ong", "bottle", 160_000, 50,
                "Mật ong nuôi trong vườn bưởi mùa hoa, chai 500 ml."),
    DemoProduct("1500432198", "BNR-04", "Mứt vỏ bưởi", "thuc-pham-che-bien", "pack", 60_000, 70,
                "Mứt vỏ bưởi sên đường phèn, gói 250 g."),
    DemoProduct("1500432198", "BNR-05", "Tinh dầu vỏ bưởi", "thuc-pham-che-bien", "bottle", 90_000, 35,
                "Tinh dầu chưng cất từ vỏ bưởi Năm Roi, chai 50 ml."),
    DemoProduct("1500432198", "BNR-06", "Gạo thơm Bình Minh", "gao", "bag", 120_000, 100,
                "Gạo thơm vụ Đông Xuân, túi 5 kg."),
    # ---- Hợp tác xã Kẹo dừa Mỏ Cày
    DemoProduct("1300456218", "KD-01", "Kẹo dừa sữa Mỏ Cày", "keo-dua", "pack", 35_000, 500,
                "Kẹo dừa sữa truyền thống, gói 400 g.",
                certificates=(DemoCertificate("ocop", "OCOP-BT-2024-017", 480, 4, "UBND tỉnh Bến Tre"),),
                batches=(DemoBatch("KDS-L1102", 10, 180),), featured=True),
    DemoProduct("1300456218", "KD-02", "Kẹo dừa lá dứa", "keo-dua", "pack", 38_000, 300,
                "Kẹo dừa thơm lá dứa, gói 400 g."),
    DemoProduct("1300456218", "KD-03", "Kẹo dừa sầu riêng", "keo-dua", "pack", 42_000, 250,
                "Kẹo dừa vị sầu riêng Ri6, gói 400 g."),
    DemoProduct("1300456218", "KD-04", "Bánh tráng dừa", "san-pham-dua", "pack", 30_000, 150,
                "Bánh tráng nướng cơm dừa, gói 10 cái."),
    DemoProduct("1300456218", "KD-05", "Chiếu cói dệt tay", "thu-cong-my-nghe", "piece", 350_000, 20,
                "Chiếu cói dệt tay khổ 1,6 m, nhuộm màu tự nhiên."),
    DemoProduct("1300456218", "KD-06", "Giỏ xách đan dây dừa", "thu-cong-my-nghe", "piece", 180_000, 4,
                "Giỏ xách đan từ xơ và lá dừa, mỗi chiếc một dáng."),
    # ---- Hợp tác xã Cây giống Chợ Lách
    DemoProduct("1300278164", "CL-01", "Xoài cát Hòa Lộc", "xoai", "kg", 70_000, 200,
                "Xoài cát Hòa Lộc chín cây, trái 400–500 g.", min_quantity=2,
                certificates=(DemoCertificate("vietgap", "VG-CL-2025-0120", 310, issuer=VIETGAP_ORG),)),
    DemoProduct("1300278164", "CL-02", "Chôm chôm Java", "trai-cay", "kg", 30_000, 350,
                "Chôm chôm Java tróc, giao trong ngày.", min_quantity=2),
    DemoProduct("1300278164", "CL-03", "Măng cụt Chợ Lách", "trai-cay", "kg", 65_000, 120,
                "Măng cụt vườn lâu năm, trái 8–10 quả/kg."),
    DemoProduct("1300278164", "CL-04", "Cây giống bưởi da xanh", "trai-cay", "piece", 45_000, 800,
                "Cây giống ghép, cao 60–80 cm, đủ rễ, sạch bệnh.", min_quantity=5, quantity_step=5),
    DemoProduct("1300278164", "CL-05", "Mật ong hoa nhãn", "mat-ong", "bottle", 150_000, 40,
                "Mật ong hoa nhãn Chợ Lách, chai 500 ml."),
    DemoProduct("1300278164", "CL-06", "Rau mầm cải", "rau-cu", "pack", 20_000, 60,
                "Rau mầm cải trồng trên giá thể xơ dừa, hộp 200 g."),
)
# fmt: on

_COLOURS = {
    "gao": (176, 137, 72),
    "trai-cay": (230, 126, 34),
    "buoi": (76, 153, 0),
    "xoai": (241, 196, 15),
    "san-pham-dua": (120, 90, 60),
    "keo-dua": (155, 89, 182),
    "thuy-san": (41, 128, 185),
    "tom": (231, 76, 60),
    "mat-ong": (243, 156, 18),
    "thuc-pham-che-bien": (192, 57, 43),
    "thu-cong-my-nghe": (127, 140, 141),
    "rau-cu": (39, 174, 96),
}


def product_picture(name: str, category: str, side: int = 600) -> bytes:
    """Draw a simple product picture: a coloured square with the name's first letter, as PNG."""
    colour = _COLOURS.get(category, (27, 107, 58))
    img = Image.new("RGB", (side, side), colour)
    draw = ImageDraw.Draw(img)
    initial = (fold(name)[:1] or "?").upper()  # the bundled font has Latin letters only: "Đ" is drawn "D"
    try:
        font = ImageFont.load_default(size=side * 6 // 10)
    except (OSError, TypeError, ValueError):  # a Pillow built without FreeType
        font = ImageFont.load_default()
    draw.text((side / 2, side / 2), initial, fill=(255, 255, 255), font=font, anchor="mm")
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def load_products(owners: dict[str, User], created: Counter) -> None:
    """Add whatever part of the demo catalogue is missing; `owners` maps a unit's code to its owner."""
    categories = {c.slug: c.id for c in db.session.scalars(select(Category))}
    units = {u.registration_code: u for u in db.session.scalars(select(Unit).where(Unit.registration_code.in_(owners)))}
    for spec in PRODUCTS:
        unit = units.get(spec.unit_code)
        if unit is None or not unit.can_sell:
            continue
        owner = owners[spec.unit_code]
        product = db.session.scalar(select(Product).where(Product.unit_id == unit.id, Product.sku == spec.sku))
        if product is None:
            product = services.create_product(
                unit,
                actor=owner,
                data=services.ProductData(
                    sku=spec.sku,
                    name=spec.name,
                    category_id=categories[spec.category],
                    sale_unit=spec.sale_unit,
                    price_vnd=spec.price_vnd,
                    stock=spec.stock,
                    min_quantity=spec.min_quantity,
                    quantity_step=spec.quantity_step,
                    description=spec.description,
                    published=True,
                ),
            )
            product.featured = spec.featured
            created["products"] += 1
        _ensure_certificates(product, spec, owner, created)
        _ensure_batches(product, spec, owner, created)
        if not product.images:
            services.add_image(product, actor=owner, data=product_picture(spec.name, spec.category), alt=spec.name)
            created["product_images"] += 1


def _ensure_certificates(product: Product, spec: DemoProduct, owner: User, created: Counter) -> None:
    today = local_today()
    for cert in spec.certificates:
        exists = db.session.scalar(
            select(Certification.id).where(Certification.product_id == product.id, Certification.number == cert.number)
        )
        if exists is None:
            issued_on = today - dt.timedelta(days=cert.issued_days_ago)
            services.add_certification(
                product,
                actor=owner,
                data=services.CertificationData(
                    kind=cert.kind,
                    number=cert.number,
                    issued_on=issued_on,
                    stars=cert.stars,
                    issuer=cert.issuer,
                    # OCOP and VietGAP get their legal validity; an organic certificate here runs two years.
                    valid_until=services.add_months(issued_on, 24) if cert.kind == "organic" else None,
                ),
            )
            created["certifications"] += 1


def _ensure_batches(product: Product, spec: DemoProduct, owner: User, created: Counter) -> None:
    today = local_today()
    for batch in spec.batches:
        exists = db.session.scalar(select(Batch.id).where(Batch.product_id == product.id, Batch.code == batch.code))
        if exists is None:
            produced_on = today - dt.timedelta(days=batch.produced_days_ago)
            services.add_batch(
                product,
                actor=owner,
                data=services.BatchData(
                    code=batch.code,
                    produced_on=produced_on,
                    expires_on=produced_on + dt.timedelta(days=batch.keeps_days) if batch.keeps_days else None,
                ),
            )
            created["batches"] += 1
