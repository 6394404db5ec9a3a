"""``twinstar export``: a run's layers for other institutes' GIS -- CGCS2000 / Gauss-Krüger, GBK Shapefiles."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("export")
@click.argument("run_dir", required=False, default=Path("twinstar_output"),
                type=click.Path(file_okay=False, path_type=Path))
@click.option("--crs", "crs", default="EPSG:4326", show_default=True,
              help="CRS of the exported layers: EPSG:4326 (WGS-84), EPSG:4490 (CGCS2000) or a CGCS2000 Gauss-Krüger "
                   "zone, e.g. EPSG:4549 (3° zone, CM 120°E) or EPSG:4528 (3° zone 40 with prefix).")
@click.option("--format", "formats", multiple=True, type=click.Choice(["gpkg", "shp"]), default=("gpkg", "shp"),
              show_default=True, help="GeoPackage and/or Shapefile (repeat the option for several).")
@click.option("--encoding", default="GBK", show_default=True,
              help="Shapefile attribute encoding, written to each .cpg (GBK, GB18030 or UTF-8).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the export (default: RUN_DIR/export_<CRS>, e.g. export_EPSG4549).")
def export(run_dir, crs, formats, encoding, out_dir):
    """Export every vector layer of a run folder in another CRS, as GeoPackage and/or Shapefile.

    Shapefiles get GBK attributes with a .cpg, field names cut to 10 characters (fields.csv maps each to
    its column, Chinese label and unit) and a .qml so QGIS opens them styled; the GeoPackages keep every
    name and carry their styles.  Files written into the run folder are recorded in its run.json.
    """
    from ..maps.qgis import style_exported
    from ..run.exports import export_folder, export_run
    from ..run.folder import record_outputs

    records = export_run(run_dir, out_dir, crs=crs, formats=formats, encoding=encoding)
    style_exported(records)
    out = Path(out_dir) if out_dir is not None else export_folder(run_dir, crs)
    record_outputs(run_dir, sorted(p for p in out.rglob("*") if p.is_file()))  # only files inside the run folder count
    click.echo(f"Exported {len(records)} layer(s) in {crs} to {out}")
