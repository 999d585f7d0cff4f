import pytest

from store.errors import LineProtocolError
from store.lineprotocol import Point, encode_point, encode_points

T = 1_764_140_000_000


def point(measurement="pm25", tags=None, fields=None, time_ms=T):
    return Point(measurement, tags or {}, fields if fields is not None else {"value": 1.0}, time_ms)


@pytest.mark.parametrize(
    ("given", "line"),
    [
        # the everyday reading
        (
            point(tags={"site": "s1", "device": "pm-1", "quality": "N"}, fields={"value": 35.0}),
            "pm25,device=pm-1,quality=N,site=s1 value=35.0 1764140000000",
        ),
        # measurement: commas and spaces escaped, equals signs and quotes kept
        (point('a b,c=d"e'), r'a\ b\,c=d"e value=1.0 1764140000000'),
        # tag keys and values: commas, equals signs and spaces escaped, quotes kept
        (point(tags={"k y,=": 'v a,l=u"e'}), r'pm25,k\ y\,\==v\ a\,l\=u"e value=1.0 1764140000000'),
        # field keys: commas, equals signs and spaces escaped
        (point(fields={"mean value,=x": 1.0}), r"pm25 mean\ value\,\=x=1.0 1764140000000"),
        # string field values: double quotes and backslashes escaped, the rest kept as is
        (point(fields={"note": 'say "hi"'}), r'pm25 note="say \"hi\"" 1764140000000'),
        (point(fields={"path": "C:\\dir\\"}), r'pm25 path="C:\\dir\\" 1764140000000'),
        (point(fields={"note": "a, b=c d"}), 'pm25 note="a, b=c d" 1764140000000'),
        (point(fields={"note": "two\nlines"}), 'pm25 note="two\nlines" 1764140000000'),
        (point(fields={"note": ""}), 'pm25 note="" 1764140000000'),
        # backslashes that 1.x reads back literally stay as they are
        (point("a\\b", {"k": "x\\y"}), r"a\b,k=x\y value=1.0 1764140000000"),
        (point(tags={"k": "x\\\\y"}), r"pm25,k=x\\y value=1.0 1764140000000"),
        # unicode is written as UTF-8 text, unescaped
        (
            point("pm25 µg/m³", {"city": "聊城", "park": "信发 产业园"}),
            r"pm25\ µg/m³,city=聊城,park=信发\ 产业园 value=1.0 1764140000000",
        ),
        (point(fields={"单位": "µg/m³"}), 'pm25 单位="µg/m³" 1764140000000'),
        # tags sorted by key, whatever order they came in
        (point(tags={"z": "1", "a": "2", "M": "3"}), "pm25,M=3,a=2,z=1 value=1.0 1764140000000"),
        # empty tag values left out
        (point(tags={"park": "", "site": "s1"}), "pm25,site=s1 value=1.0 1764140000000"),
        (point(tags={"park": ""}), "pm25 value=1.0 1764140000000"),
        # fields keep their order; integers get i, booleans true/false
        (
            point(fields={"value": 1.5, "count": 3, "ok": True, "bad": False}),
            "pm25 value=1.5,count=3i,ok=true,bad=false 1764140000000",
        ),
        (point(fields={"count": 0}), "pm25 count=0i 1764140000000"),
        (point(fields={"n": 2**63 - 1}), "pm25 n=9223372036854775807i 1764140000000"),
        (point(fields={"n": -(2**63)}), "pm25 n=-9223372036854775808i 1764140000000"),
        # floats: full precision, never rounded, exponent form when repr uses it
        (point(fields={"v": 0.1 + 0.2}), "pm25 v=0.30000000000000004 1764140000000"),
        (point(fields={"v": 1e300}), "pm25 v=1e+300 1764140000000"),
        (
            point(fields={"v": 1.7976931348623157e308}),
            "pm25 v=1.7976931348623157e+308 1764140000000",
        ),
        (point(fields={"v": 5e-324}), "pm25 v=5e-324 1764140000000"),
        (point(fields={"v": 1.5e-7}), "pm25 v=1.5e-07 1764140000000"),
        (point(fields={"v": 123456789012345680.0}), "pm25 v=1.2345678901234568e+17 1764140000000"),
        (point(fields={"v": -0.0}), "pm25 v=-0.0 1764140000000"),
        (point(fields={"v": 35.0}), "pm25 v=35.0 1764140000000"),
        # timestamps: epoch milliseconds as given, also before 1970
        (point(time_ms=0), "pm25 value=1.0 0"),
        (point(time_ms=-1), "pm25 value=1.0 -1"),
    ],
)
def test_encodes_exact_line(given, line):
    assert encode_point(given) == line


@pytest.mark.parametrize(
    ("given", "complaint"),
    [
        (point(fields={}), "at least one field"),
        (point(fields={"v": float("nan")}), "not a finite number"),
        (point(fields={"v": float("inf")}), "not a finite number"),
        (point(fields={"v": float("-inf")}), "not a finite number"),
        (point(fields={"n": 2**63}), "does not fit in int64"),
        (point(fields={"n": -(2**63) - 1}), "does not fit in int64"),
        (point(fields={"v": None}), "NoneType is not a line protocol type"),
        (point(fields={"v": b"x"}), "bytes is not a line protocol type"),
        (point(""), "measurement must be a non-empty string"),
        (point("#pm25"), "comment line"),
        (point("pm\n25"), "line break"),
        (point(tags={"site": "s\r1"}), "line break"),
        (point(fields={"a\nb": 1.0}), "line break"),
        (point(tags={"": "x"}), "tag key must be a non-empty string"),
        (point(fields={"": 1.0}), "field key must be a non-empty string"),
        (point(tags={"time": "x"}), "'time' is reserved"),
        (point(fields={"time": 1.0}), "'time' is reserved"),
        # backslashes 1.x would read as escapes, or that end a name
        (point("pm25\\"), "backslash"),
        (point("a\\,b"), "backslash"),
        (point("a\\=b"), "backslash"),
        (point('a\\"b'), "backslash"),
        (point(tags={"k": "v\\"}), "backslash"),
        (point(tags={"k": "a\\ b"}), "backslash"),
        (point(tags={"k\\=": "v"}), "backslash"),
        (point(fields={'k\\"': 1.0}), "backslash"),
        (point(time_ms=1.5), "time_ms must be an int"),
        (point(time_ms=True), "time_ms must be an int"),
    ],
)
def test_refuses_what_influxdb_would_refuse_or_misread(given, complaint):
    with pytest.raises(LineProtocolError, match="^measurement .*" + complaint) as caught:
        encode_point(given)
    assert caught.value.measurement == given.measurement


def test_error_names_the_point_and_the_key():
    with pytest.raises(LineProtocolError) as caught:
        encode_point(point("energy_import", fields={"value": float("nan")}))
    assert caught.value.measurement == "energy_import"
    assert "'value'" in caught.value.reason
    assert isinstance(caught.value, ValueError)


def test_encodes_many_points_in_order():
    points = [point(time_ms=T + i) for i in range(3)]
    assert list(encode_points(points)) == [f"pm25 value=1.0 {T + i}" for i in range(3)]
