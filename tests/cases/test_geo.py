"""Datum conversion against published reference points (the eviltransform project's test pairs
and the coordtransform project's documented outputs, BD-09 included), and the round trips."""

from __future__ import annotations

import pytest

from zerotrip.cases.geo import (
    Datum,
    bd09_to_gcj02,
    distance_m,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    to_wgs84,
    wgs84_to_gcj02,
)

# wgs lat, wgs lon, gcj lat, gcj lon (eviltransform: Shanghai, Shenzhen, Beijing)
WGS_GCJ = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),
]


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), WGS_GCJ)
def test_wgs84_to_gcj02_matches_the_reference(wlat, wlon, glat, glon):
    lat, lon = wgs84_to_gcj02(wlat, wlon)
    assert lat == pytest.approx(glat, abs=1e-9) and lon == pytest.approx(glon, abs=1e-9)


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), WGS_GCJ)
def test_gcj02_back_to_wgs84_within_a_centimetre(wlat, wlon, glat, glon):
    lat, lon = gcj02_to_wgs84(glat, glon)
    assert distance_m(lat, lon, wlat, wlon) < 0.01
    # and the offset itself is hundreds of metres: more than the premises radius
    assert distance_m(glat, glon, wlat, wlon) > 150


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), WGS_GCJ)
def test_bd09_round_trip(wlat, wlon, glat, glon):
    # Baidu's own shift uses x_pi = pi * 3000 / 180 (eviltransform's BD pairs were made with pi,
    # a known slip, so they are not used as a reference here)
    blat, blon = from_wgs84(wlat, wlon, Datum.bd09)
    assert distance_m(blat, blon, glat, glon) > 500  # BD-09 adds ~ 700 m to GCJ-02
    # Baidu's published inverse is itself approximate (decimetres)
    assert distance_m(*to_wgs84(blat, blon, "bd09"), wlat, wlon) < 0.5


def test_coordtransform_documented_outputs():
    # wandergis/coordtransform test/app.js, for (lon 116.404, lat 39.915)
    assert bd09_to_gcj02(39.915, 116.404) == pytest.approx((39.90865673957631, 116.39762729119315))
    assert gcj02_to_bd09(39.915, 116.404) == pytest.approx((39.92133699351021, 116.41036949371029))
    assert wgs84_to_gcj02(39.915, 116.404) == pytest.approx((39.91640428150164, 116.41024449916938))


def test_outside_china_nothing_moves():
    assert to_wgs84(51.5007, -0.1246, "gcj02") == (51.5007, -0.1246)
    assert to_wgs84(48.8584, 2.2945, "gcj02") == (48.8584, 2.2945)


def test_wgs84_is_identity():
    assert to_wgs84(31.2, 121.5, "wgs84") == (31.2, 121.5)


async def test_application_with_map_coordinates_is_stored_in_wgs84(client, db):
    from tests.factories import apply, make_staff

    clerk = await make_staff(db, "clerk")
    wlat, wlon, glat, glon = WGS_GCJ[0]
    case, _ = await apply(
        client, premises_lat=glat, premises_lon=glon, premises_datum="gcj02",
        premises_source="map_link",
    )  # fmt: skip
    view = await (await client.get(f"/api/cases/{case['id']}", headers=clerk.headers)).json()
    assert distance_m(view["premises_lat"], view["premises_lon"], wlat, wlon) < 0.05
    assert view["premises_datum"] == "gcj02"
    assert view["premises_input"] == {
        "lat": glat, "lon": glon, "datum": "gcj02", "source": "map_link",
    }  # fmt: skip


async def test_an_unknown_datum_is_refused_naming_the_field(client):
    from tests.factories import APPLICATION

    bad = {**APPLICATION, "premises_datum": "osgb36"}
    resp = await client.post("/api/applications", json=bad)
    assert resp.status == 422 and "坐标系" in (await resp.json())["detail"]
