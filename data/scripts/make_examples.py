"""Write the bring-your-own-data example in data/examples/ (maintainer script).

The example imitates what planners receive, not real survey data:

* ``example_parks_gk40.shp``: two park outlines in CGCS2000 / 3-degree
  Gauss-Krueger zone 40 (EPSG:4528, false easting with zone prefix), with
  Chinese attribute names and values encoded in GBK and a ``.cpg`` saying so.
  The outlines are rectangles drawn for the tutorial around the embedded
  parks' approximate centres; they are labelled indicative.
* ``example_poi_amap.csv``: points as an Amap (GCJ-02) export lists them,
  the embedded Songshan facilities shifted into GCJ-02.
* ``project.toml``: maps both files onto layer kinds.

Run from the repository root:  python data/scripts/make_examples.py
"""

from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import box

from twinstar_gis.data.gcj02 import wgs84_to_gcj02

OUT = Path(__file__).resolve().parents[1] / "examples"


def main():
    OUT.mkdir(exist_ok=True)
    # Rectangles in WGS-84 around approximate centres, then to GK zone 40.
    parks = gpd.GeoDataFrame(
        {
            "编号": ["X01", "X02"],
            "名称": ["松山区信息科技产业园(示例边界)", "元宝山工业园区(示例边界)"],
            "所在旗县": ["150404", "150403"],
            "级别": ["local", "unverified"],
            "申报面积": [17.76, None],
            "来源": ["教程示例：矩形边界，非测绘", "教程示例：矩形边界，非测绘"],
        },
        geometry=[box(118.820, 42.266, 118.870, 42.304), box(119.225, 42.058, 119.262, 42.083)],
        crs="EPSG:4326",
    ).to_crs("EPSG:4528")
    base = OUT / "example_parks_gk40.shp"
    for p in OUT.glob("example_parks_gk40.*"):
        p.unlink()
    parks.to_file(base, encoding="GBK")
    base.with_suffix(".cpg").write_text("GBK\n", encoding="ascii")

    fac = pd.read_csv(Path(__file__).resolve().parents[1] / "curated" / "facilities.csv").head(4)
    lon, lat = wgs84_to_gcj02(fac["lon"].to_numpy(), fac["lat"].to_numpy())
    pd.DataFrame({
        "id": fac["facility_id"].str.replace("F", "A"),
        "name": fac["name_zh"],
        "type": fac["kind"],
        "lng": lon.round(6),
        "lat": lat.round(6),
    }).to_csv(OUT / "example_poi_amap.csv", index=False, encoding="utf-8")
    print(f"wrote examples to {OUT}")


if __name__ == "__main__":
    main()
