"""The demo brand's catalogue: apparel and home goods with prices, weights and pallet sizes."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate

from ._draw import Draw
from ._writer import TableWriter


@dataclass(frozen=True, slots=True)
class Product:
    """One SKU; money in cents, weight in grams."""

    sku: str
    name: str
    price: int
    unit_cost: int
    grams: int
    units_per_pallet: int
    flat: bool  # fits a poly mailer


@dataclass(frozen=True, slots=True)
class _Family:
    code: str
    name: str
    price: int
    grams: int
    units_per_pallet: int
    flat: bool
    colors: tuple[str, ...]
    sizes: tuple[str, ...]


_APPAREL_SIZES = ("XS", "S", "M", "L", "XL", "XXL")
_FAMILIES = (
    _Family(
        "TEE",
        "Organic Cotton Tee",
        3200,
        180,
        900,
        True,
        ("Black", "White", "Sage", "Navy", "Clay"),
        _APPAREL_SIZES,
    ),
    _Family(
        "LST", "Long Sleeve Tee", 4200, 240, 700, True, ("Black", "Oat", "Slate"), _APPAREL_SIZES
    ),
    _Family(
        "HOD",
        "Fleece Hoodie",
        7800,
        620,
        260,
        True,
        ("Black", "Heather Grey", "Forest", "Rust"),
        _APPAREL_SIZES,
    ),
    _Family(
        "CRW",
        "Crewneck Sweatshirt",
        6800,
        540,
        300,
        True,
        ("Oat", "Navy", "Dusty Rose"),
        _APPAREL_SIZES,
    ),
    _Family(
        "JOG",
        "Relaxed Jogger",
        6400,
        480,
        320,
        True,
        ("Black", "Heather Grey", "Olive"),
        _APPAREL_SIZES,
    ),
    _Family(
        "SHO", "Everyday Short", 4400, 260, 600, True, ("Black", "Khaki", "Navy"), _APPAREL_SIZES
    ),
    _Family(
        "SCK",
        "Crew Socks 3-Pack",
        1800,
        150,
        1500,
        True,
        ("Black", "White", "Mixed"),
        ("S/M", "L/XL"),
    ),
    _Family(
        "BNE", "Rib Knit Beanie", 2800, 110, 1400, True, ("Black", "Rust", "Oat", "Forest"), ("OS",)
    ),
    _Family(
        "THR",
        "Cotton Throw Blanket",
        9800,
        1350,
        90,
        False,
        ("Oat", "Charcoal", "Sage", "Terracotta"),
        ("OS",),
    ),
    _Family(
        "PIL",
        "Linen Pillow Cover",
        3800,
        320,
        500,
        True,
        ("Natural", "Sage", "Rust", "Indigo"),
        ("18in", "20in", "Lumbar"),
    ),
    _Family(
        "MUG",
        "Stoneware Mug",
        2600,
        420,
        288,
        False,
        ("Speckle", "Sand", "Moss", "Ink"),
        ("12oz", "16oz"),
    ),
    _Family(
        "CND",
        "Soy Candle",
        3400,
        380,
        400,
        False,
        ("Cedar", "Fig", "Sea Salt", "Amber"),
        ("8oz", "14oz"),
    ),
    _Family(
        "TWL",
        "Waffle Towel Set",
        5800,
        900,
        160,
        False,
        ("White", "Oat", "Sage", "Charcoal"),
        ("Bath", "Hand"),
    ),
    _Family(
        "TOT", "Canvas Tote", 2400, 260, 800, True, ("Natural", "Black", "Olive"), ("OS", "XL")
    ),
    _Family(
        "BTN",
        "Linen Button Shirt",
        7400,
        300,
        500,
        True,
        ("White", "Sky", "Oat", "Olive", "Black"),
        _APPAREL_SIZES,
    ),
    _Family(
        "JKT", "Chore Jacket", 12800, 950, 150, False, ("Navy", "Brown", "Black"), _APPAREL_SIZES
    ),
    _Family(
        "VST", "Puffer Vest", 9800, 520, 200, False, ("Black", "Olive", "Rust"), _APPAREL_SIZES
    ),
    _Family(
        "LEG",
        "High Rise Legging",
        6800,
        260,
        700,
        True,
        ("Black", "Navy", "Plum", "Moss"),
        _APPAREL_SIZES,
    ),
    _Family(
        "DRS",
        "Knit Midi Dress",
        8800,
        400,
        400,
        True,
        ("Black", "Oat", "Rust", "Indigo"),
        _APPAREL_SIZES,
    ),
    _Family(
        "PLN",
        "Ceramic Planter",
        4600,
        1600,
        120,
        False,
        ("Speckle", "Terracotta", "Ink"),
        ("SM", "MD", "LG"),
    ),
    _Family(
        "DUV",
        "Washed Linen Duvet Cover",
        18800,
        1700,
        80,
        False,
        ("Natural", "Sage", "Charcoal", "Rust"),
        ("Twin", "Queen", "King"),
    ),
    _Family(
        "NAP",
        "Linen Napkin Set",
        3600,
        280,
        900,
        True,
        ("Natural", "Sage", "Indigo", "Rust", "Charcoal"),
        ("4PC", "8PC"),
    ),
    _Family(
        "MAT", "Cotton Bath Mat", 4200, 700, 300, False, ("White", "Oat", "Sage"), ("OS", "Runner")
    ),
)


@dataclass(frozen=True, slots=True)
class Catalog:
    """The products and how popular each is (cumulative weights for `random.choices`)."""

    products: tuple[Product, ...]
    cum_weights: tuple[float, ...]

    @property
    def total_weight(self) -> float:
        """Sum of popularity weights."""
        return self.cum_weights[-1]

    def share(self, index: int) -> float:
        """A product's share of demand."""
        previous = self.cum_weights[index - 1] if index else 0.0
        return (self.cum_weights[index] - previous) / self.total_weight


def sku_count(orders: int) -> int:
    """About 200 SKUs at 50,000 orders a year, growing mildly with volume."""
    scale: float = (max(orders, 1) / 50_000) ** 0.1
    return max(60, min(600, round(200 * scale)))


def build_catalog(rng: Draw, orders: int) -> Catalog:
    """Draw the catalogue: a sample of family variants, with a long-tailed popularity."""
    candidates = [
        (family, color, size)
        for family in _FAMILIES
        for color in family.colors
        for size in family.sizes
    ]
    chosen = rng.sample(candidates, min(sku_count(orders), len(candidates)))
    chosen.sort(key=lambda c: (c[0].code, c[1], c[2]))
    products = []
    for family, color, size in chosen:
        color_code = "".join(w[0] for w in color.split()) if " " in color else color[:3]
        sku = f"{family.code}-{color_code.upper()}-{size.replace('/', '').upper()}"
        grams = family.grams + (rng.randrange(-20, 21) * family.grams) // 400
        cost = family.price * rng.randrange(28, 38) // 100
        size_name = "" if size == "OS" else f" / {size}"
        products.append(
            Product(
                sku=sku,
                name=f"{family.name} - {color}{size_name}",
                price=family.price,
                unit_cost=cost,
                grams=grams,
                units_per_pallet=family.units_per_pallet,
                flat=family.flat,
            )
        )
    # Long tail: popularity falls with a randomly drawn rank (Zipf-like, exponent 0.9).
    ranks = list(range(len(products)))
    rng.shuffle(ranks)
    weights = [1.0 / (rank + 4) ** 0.9 for rank in ranks]
    return Catalog(tuple(products), tuple(accumulate(weights)))


def write_products(catalog: Catalog, writer: TableWriter) -> None:
    """One products row per SKU."""
    for p in catalog.products:
        writer.append(
            (
                p.sku,
                p.name,
                f"{p.unit_cost // 100}.{p.unit_cost % 100:02d}",
                f"{p.grams // 1000}.{p.grams % 1000:03d}",
                str(p.units_per_pallet),
            )
        )
