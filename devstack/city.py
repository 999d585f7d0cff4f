"""The simulated city the demo runs: Liaocheng's counties and parks, fictional enterprises.

Counties and industrial parks are real places named in the city's 2018-2022 plan
(shared reference: Liaocheng facts); every enterprise is invented, because a real company must
never appear in a simulated exceedance alert. Coordinates are approximate, inside each county.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from store.sql import Registry

SCENARIOS = Path(__file__).resolve().parent.parent / "firmware-sim" / "scenarios"


@dataclass(frozen=True, slots=True)
class SimSite:
    """One monitored site with its gateway, and where it stands in the registry."""

    county: tuple[str, str, str]  # id, English name, Chinese name
    park: tuple[str, str, str] | None
    enterprise: tuple[str, str, str]
    site: str
    site_name: str
    latitude: float
    longitude: float
    gateway: str
    scenario: str  # its simulated devices, signals and faults: a file in SCENARIOS

    @property
    def scenario_path(self) -> Path:
        """The scenario file of the site's simulated devices."""
        return SCENARIOS / self.scenario


_CHIPING = ("chiping", "Chiping", "茌平区")
_YANGGU = ("yanggu", "Yanggu", "阳谷县")
_GUANXIAN = ("guanxian", "Guanxian", "冠县")
_LINQING = ("linqing", "Linqing", "临清市")
_DONGCHANGFU = ("dongchangfu", "Dongchangfu", "东昌府区")
_SHENXIAN = ("shenxian", "Shenxian", "莘县")

CITY: tuple[SimSite, ...] = (
    SimSite(
        _CHIPING,
        ("xinfa-materials", "Xinfa high-tech materials park", "信发高新材料产业园"),
        ("ent-hengtong-al", "Hengtong Aluminium (fictional)", "恒通铝材（虚构）"),
        "site-hengtong-east",
        "Hengtong east boundary",
        36.583,
        116.255,
        "gw-0001",
        "site-hengtong-east.yaml",
    ),
    SimSite(
        _YANGGU,
        ("xiangguang-eco", "Xiangguang ecological industrial park", "祥光生态产业园"),
        ("ent-qingyuan-cu", "Qingyuan Copper Smelting (fictional)", "清源铜冶炼（虚构）"),
        "site-qingyuan-stack",
        "Qingyuan smelter yard",
        36.114,
        115.791,
        "gw-0002",
        "site-qingyuan-stack.yaml",
    ),
    SimSite(
        _GUANXIAN,
        ("guanxian-steel", "Guanxian steel plate park", "冠县精品钢板产业园"),
        ("ent-beiyuan-steel", "Beiyuan Steel Plate (fictional)", "北原钢板（虚构）"),
        "site-beiyuan-north",
        "Beiyuan north gate",
        36.484,
        115.442,
        "gw-0003",
        "site-beiyuan-north.yaml",
    ),
    SimSite(
        _LINQING,
        ("linqing-bearings", "Linqing bearing park", "临清轴承产业园"),
        ("ent-yunhe-bearing", "Yunhe Bearings (fictional)", "运河轴承（虚构）"),
        "site-yunhe-workshop",
        "Yunhe workshop 2",
        36.838,
        115.706,
        "gw-0004",
        "site-yunhe-workshop.yaml",
    ),
    SimSite(
        _SHENXIAN,
        ("luxi-economic", "Luxi economic development zone", "鲁西经济开发区"),
        ("ent-mingyan-chem", "Mingyan Salt Chemicals (fictional)", "明盐化工（虚构）"),
        "site-mingyan-south",
        "Mingyan south fence",
        36.234,
        115.671,
        "gw-0005",
        "site-mingyan-south.yaml",
    ),
    SimSite(
        _DONGCHANGFU,
        None,
        ("ent-shuicheng-print", "Shuicheng Printing (fictional)", "水城印务（虚构）"),
        "site-shuicheng-yard",
        "Shuicheng yard",
        36.457,
        115.985,
        "gw-0006",
        "site-shuicheng-yard.yaml",
    ),
)


def register(registry: Registry, sites: Iterable[SimSite]) -> None:
    """Enter the sites, their enterprises, parks, counties and gateways into the registry."""
    known: set[str] = set()

    def first_time(kind: str, identifier: str) -> bool:
        key = f"{kind}:{identifier}"
        if key in known:
            return False
        known.add(key)
        return True

    for sim in sites:
        county_id, county_name, county_zh = sim.county
        if first_time("county", county_id):
            registry.add_county(county_id, name=county_name, name_zh=county_zh)
        park_id = None
        if sim.park is not None:
            park_id, park_name, park_zh = sim.park
            if first_time("park", park_id):
                registry.add_park(park_id, name=park_name, name_zh=park_zh, county_id=county_id)
        enterprise_id, enterprise_name, enterprise_zh = sim.enterprise
        if first_time("enterprise", enterprise_id):
            registry.add_enterprise(
                enterprise_id,
                name=enterprise_name,
                name_zh=enterprise_zh,
                park_id=park_id,
                county_id=county_id,
            )
        registry.add_site(
            sim.site,
            name=sim.site_name,
            enterprise_id=enterprise_id,
            latitude=sim.latitude,
            longitude=sim.longitude,
        )
        registry.add_gateway(sim.gateway, site_id=sim.site)
