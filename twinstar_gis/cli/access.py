"""``twinstar access``: travel times, isochrones, rasters, county table, scenario."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import geopandas as gpd
import pandas as pd
from shapely.geometry import Point

from .._errors import DataSourceError
from ..accessibility import DEFAULT_MINUTES
from ..io import read_layer
from ..outputs import write_access
from ..validate import validate_dataset
from .options import gpkg_arg, project_opt

DEFAULT_ACCESS_DIR = Path("twinstar_output") / "access"


def _minutes(ctx, param, value):
    try:
        mins = sorted({float(v) for v in value.split(",") if v.strip()})
    except ValueError:
        raise click.BadParameter("give minutes as numbers separated by commas, e.g. 30,60,90,120") from None
    if not mins or mins[0] <= 0:
        raise click.BadParameter("minutes must be positive")
    return mins


def _points(ctx, param, values):
    pts = []
    for v in values:
        try:
            lon, lat = (float(x) for x in v.split(","))
        except ValueError:
            raise click.BadParameter(f"{v!r}: give LON,LAT in WGS-84 degrees, e.g. 119.9,42.3") from None
        pts.append((lon, lat))
    return pts


def _scenario_corridors(value):
    if value in (None, "none", "planned"):
        return None
    gdf = read_layer(value)
    gdf.attrs["source_file"] = str(value)
    if "status" not in gdf:
        gdf["status"] = "scenario"
    _, rep = validate_dataset({"corridors": gdf})
    rep.raise_if_failed()
    return gdf


@click.command("access")
@gpkg_arg
@project_opt
@click.option("--resolution", type=click.FloatRange(min=100), default=1000.0, show_default=True,
              help="Raster cell size in metres (250 works for the whole region).")
@click.option("--minutes", callback=_minutes, default=",".join(f"{m:g}" for m in DEFAULT_MINUTES), show_default=True,
              help="Isochrone thresholds.")
@click.option("--origin", "origins", multiple=True, help="Extra isochrone origin: a place, park or station id (repeatable).")
@click.option("--origin-point", "origin_points", multiple=True, callback=_points,
              help="Extra isochrone origin as LON,LAT (repeatable).")
@click.option("--scenario", default="planned", show_default=True,
              help="'planned' (the dataset's planned corridors), a corridor file (GeoJSON, GPKG, ...), or 'none'.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_ACCESS_DIR, show_default=True)
def access(path, project, resolution, minutes, origins, origin_points, scenario, out_dir):
    """Accessibility: OD matrix, isochrones, travel-time GeoTIFFs, county table, scenario comparison."""
    from ..dataset import load_dataset

    ds = load_dataset(path, project=project)
    for k in ("boundaries", "places", "corridors"):
        if k not in ds.layers:
            raise DataSourceError(f"{ds.origin}: the accessibility model needs the {k} layer.")
    _, rep = validate_dataset(ds.layers)
    rep.raise_if_failed()
    layers = dict(ds.layers)
    extra_ids = []
    if origin_points:
        add = gpd.GeoDataFrame({"place_id": [f"ORIGIN_{i + 1}" for i in range(len(origin_points))],
                                "name_zh": [f"起点{i + 1} ({lon:.4f},{lat:.4f})" for i, (lon, lat) in enumerate(origin_points)],
                                "kind": "origin"}, geometry=[Point(p) for p in origin_points], crs=4326)
        layers["places"] = pd.concat([layers["places"], add], ignore_index=True)
        extra_ids = list(add["place_id"])
    known = set(layers["places"]["place_id"].astype(str)) | set(layers.get("parks", pd.DataFrame(columns=["park_id"]))["park_id"].astype(str)) \
        | set(layers.get("nodes", pd.DataFrame(columns=["node_id"]))["node_id"].astype(str))
    bad = [o for o in origins if o not in known]
    if bad:
        raise click.BadParameter(f"unknown origin id(s) {bad}; use a place_id, park_id or station node_id", param_hint="--origin")
    all_origins = list(origins) + extra_ids
    extra = _scenario_corridors(scenario)
    with click.progressbar(length=2 if scenario != "none" else 1, label="Accessibility", file=sys.stderr) as bar:
        written, base, scen, comparison = write_access(ds, out_dir, layers=layers, resolution=resolution, minutes=minutes,
                                           origins=all_origins, scenario="file" if extra is not None else scenario,
                                           extra_corridors=extra, on_step=lambda: bar.update(1))
    tw = base.twin_city.set_index("indicator")["value"]
    click.echo(f"Chifeng core <-> Tongliao core: {tw['core_to_core_fastest_min']:.0f} min fastest, "
               f"{tw['core_to_core_road_min']:.0f} min by road")
    unreachable = base.to_nearest[~base.to_nearest["reachable"]]
    if len(unreachable):
        click.secho(f"Unreachable from every core: {', '.join(unreachable['id'])}", fg="yellow", err=True)
    if scen is not None:
        counties = comparison[0]
        click.echo(f"Scenario '{scenario}': core <-> core {scen.twin_city.iloc[0]['value']:.0f} min; "
                   f"largest county gain in 2-hour area share: "
                   f"{counties.nlargest(1, 'area_share_120min_change')[['name_zh', 'area_share_120min_change']].values[0].tolist()}")
    for p in written:
        click.echo(f"Wrote {p}")
