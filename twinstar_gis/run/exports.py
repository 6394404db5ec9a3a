"""Exchange formats of a run: what Excel, QGIS/ArcGIS and other institutes' tools open without fuss.

Written into every run (``twinstar run``, before ``run.json``):

* ``tables.xlsx`` -- every CSV of the run as a sheet, with a Chinese header row (label and unit) over the
  CSV's own column names, numbers as numbers, codes (adcodes, ids) as text, text cells that start with
  ``= + - @`` (or a tab / carriage return) stored as text with Excel's quote prefix, and a first sheet
  ``说明 README`` with the run, the sheets and the field dictionary (:func:`write_workbook`);
* a ``.csvt`` beside every CSV (the column types for GDAL's CSV driver, which QGIS uses when a CSV is
  dragged in: numbers as numbers, codes as text) (:func:`write_csvt_sidecars`);
* ``access/network.gpkg`` -- the run's network as QGIS's network tools need it: edges with their
  direction (``F`` / ``R`` one way along / against the line, ``B`` both) and ``qgis_speed_kmh`` so that QGIS's
  length / speed is the model's edge time (:func:`network_layer`), and the graph nodes;
* band descriptions and units in every GeoTIFF (:func:`describe_rasters`);
* every GeoPackage as GeoPackage 1.2 (:func:`write_gpkg`, :func:`ensure_gpkg_1_2`): QGIS 3.22 / GDAL 3.6,
  still common at planning institutes, warn on the GDAL 3.7+ default 1.4.

On demand (``twinstar export``, :func:`export_run`): every vector layer of the run as GeoPackage and/or
Shapefile in a CRS the institute uses -- WGS-84, CGCS2000 (EPSG:4490) or a CGCS2000 Gauss-Krueger zone
(EPSG:4513-4554) -- Shapefiles with GBK attributes and a ``.cpg``, ``fields.csv`` mapping every field name
longer than 10 characters to its short name, and a ``.qml`` per Shapefile so QGIS opens it styled.

The field dictionary (:data:`COLUMNS`, :func:`column_info`) gives every column of the run a Chinese
label, a unit and a kind; the brief, the workbook, the QGIS aliases and the Shapefile field map use it.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio

from ..data.io import GPKG_VERSION, atomic_output, neutralise_cell, read_csv_table, write_gpkg
from ..errors import CRSError, DataSourceError, TwinstarError

__all__ = ["COLUMNS", "ColumnInfo", "column_info", "is_code_column", "neutralise", "needs_neutralising",
           "gpkg_version", "ensure_gpkg_1_2", "csvt_types", "write_csvt",
           "write_csvt_sidecars", "TABLES", "write_workbook", "network_layer", "network_nodes", "write_network",
           "RASTERS", "describe_rasters", "resolve_crs", "shapefile_field_names", "export_run", "EXPORT_FORMATS",
           "ExportedLayer", "export_folder", "named_crs", "EQUAL_AREA_NAME"]

log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------- field dictionary
@dataclass(frozen=True)
class ColumnInfo:
    """What a column holds: Chinese label, unit (``""`` when none) and kind (how to show and type it).

    Kinds: ``code`` (an identifier that looks like a number: adcodes), ``id``, ``text``, ``int``, ``count``,
    ``people`` (census counts), ``people_est`` (estimates: 3 significant figures), ``km``, ``m``, ``km2``,
    ``min``, ``share`` (0-1, shown as %), ``pct`` (already in %), ``score``, ``gravity`` (persons²/min^b,
    shown in 10⁶), ``deg`` (lon/lat), ``kmh``, ``year``, ``bool``, ``number``.
    """

    zh: str
    unit: str = ""
    kind: str = "text"

    def header(self) -> str:
        """``"平均时间 (min)"``: the label with its unit."""
        return f"{self.zh} ({self.unit})" if self.unit else self.zh


_C = ColumnInfo
#: Columns by exact name.  Suffixes ``_base`` / ``_scenario`` / ``_change`` and prefixes ``a_`` / ``b_`` /
#: ``line_`` / ``zone_`` / ``park_`` / ``target_`` are added by :func:`column_info`.
COLUMNS = {
    "adcode": _C("行政区划代码", "", "code"), "parent_adcode": _C("上级代码", "", "code"),
    "city_adcode": _C("所属市代码", "", "code"), "county_adcode": _C("所在旗县代码", "", "code"),
    "county_adcodes": _C("旗县代码", "", "code"), "city": _C("所属市", "", "code"),
    "city_a": _C("甲方所属市", "", "code"), "city_b": _C("乙方所属市", "", "code"),
    "adcode_a": _C("甲方代码", "", "code"), "adcode_b": _C("乙方代码", "", "code"),
    "id": _C("编号", "", "id"), "place_id": _C("地点编号", "", "id"), "node_id": _C("节点编号", "", "id"),
    "corridor_id": _C("线路编号", "", "id"), "park_id": _C("园区编号", "", "id"), "zone_id": _C("生态区编号", "", "id"),
    "target_id": _C("最近目标编号", "", "id"), "river_id": _C("河流编号", "", "id"), "candidate_id": _C("候选编号", "", "id"),
    "feature_id": _C("要素编号", "", "id"), "unit": _C("单元/单位", "", "id"), "unit_i": _C("单元甲", "", "id"),
    "unit_j": _C("单元乙", "", "id"), "origin": _C("起点编号", "", "id"), "strongest_partner": _C("最强联系单元", "", "id"),
    "strongest_partner_scenario": _C("情景最强联系单元", "", "id"), "from_node": _C("起点节点", "", "int"),
    "to_node": _C("终点节点", "", "int"), "edge_id": _C("边编号", "", "int"), "node": _C("节点", "", "int"),
    "name_zh": _C("名称"), "name_en": _C("英文名称"), "name_a": _C("甲方名称"), "name_b": _C("乙方名称"),
    "name_i": _C("单元甲名称"), "name_j": _C("单元乙名称"), "origin_name": _C("起点名称"),
    "feature_name_zh": _C("要素名称"), "strongest_partner_name": _C("最强联系对象"),
    "strongest_partner_scenario_name": _C("情景最强联系对象"), "nearest_core": _C("最近中心城区"),
    "nearest_hsr_station": _C("最近高铁站"), "nearest_county_seat": _C("最近旗县驻地"), "city_core": _C("所属中心城区"),
    "counties": _C("所在旗县"), "level": _C("级别"), "kind": _C("类型"), "class": _C("类别"), "status": _C("状态"),
    "mode": _C("方式"), "cls": _C("类别"), "direction": _C("通行方向 (F 单向/B 双向)"), "feature_kind": _C("要素类型"),
    "measured_from": _C("量算起点"), "source": _C("来源"), "licence": _C("许可"), "accuracy": _C("精度说明"),
    "accuracy_m": _C("精度", "m", "m"), "geometry_quality": _C("几何质量"), "notes": _C("说明"), "note": _C("说明"),
    "why": _C("排名原因"), "stations": _C("车站"), "leading_industries": _C("主导产业"), "area_basis": _C("面积依据"),
    "protection_level": _C("保护级别"), "population_method": _C("人口估算方法"), "population_source": _C("人口来源"),
    "population_census_units": _C("人口普查单元"), "facility_data": _C("配套设施数据"),
    "facility_kinds_within_5km": _C("5公里内配套设施类型"), "indicator": _C("指标"), "setting": _C("设置"),
    "assumption": _C("假设"), "value": _C("数值", "", "number"), "weight": _C("权重项"), "change": _C("变动"),
    "layer": _C("图层"), "crs": _C("坐标系"), "as_of": _C("时点"), "system": _C("水系"), "class_zh": _C("等级"),
    "class_en": _C("等级(英文)"), "class_code": _C("适宜性等级代码", "", "int"), "label": _C("标注"),
    "area_source": _C("面积来源"), "declared_area_source": _C("申报面积来源"), "design_speed_source": _C("设计速度来源"),
    "level_source": _C("级别依据"), "zone_area_source": _C("所在区面积来源"), "approving_body": _C("批准机关"),
    "indicator_note": _C("说明"),
    "area_km2": _C("面积", "km²", "km2"), "area_official_km2": _C("统计面积", "km²", "km2"),
    "official_area_km2": _C("批准面积", "km²", "km2"), "declared_area_km2": _C("申报面积", "km²", "km2"),
    "zone_planned_area_km2": _C("所在区规划面积", "km²", "km2"), "requested_area_km2": _C("选址面积", "km²", "km2"),
    "area_km2_grid": _C("栅格面积", "km²", "km2"), "overlap_km2": _C("重叠面积", "km²", "km2"),
    "overlap_ha": _C("重叠面积", "ha", "number"), "overlap_mu": _C("重叠面积", "亩", "number"),
    "length_km": _C("长度", "km", "km"), "distance_km": _C("距离", "km", "km"), "distance_m": _C("距离", "m", "m"),
    "shared_border_km": _C("共同边界长度", "km", "km"), "uncertainty_m": _C("距离不确定性", "m", "m"),
    "buffer_m": _C("缓冲距离", "m", "m"), "km": _C("长度", "km", "km"), "park_km": _C("距现有园区", "km", "km"),
    "to_city_core_km": _C("距中心城区", "km", "km"), "to_county_seat_km": _C("距旗县驻地", "km", "km"),
    "to_hsr_station_km": _C("距高铁站", "km", "km"), "to_expressway_km": _C("距高速公路", "km", "km"),
    "to_HSR_station_km": _C("距高铁站", "km", "km"),
    "minutes": _C("时间", "min", "min"), "mean_min": _C("平均时间", "min", "min"), "median_min": _C("中位时间", "min", "min"),
    "to_core_min": _C("到最近中心城区", "min", "min"), "to_hsr_station_min": _C("到最近高铁站", "min", "min"),
    "to_expressway_min": _C("到最近高速公路", "min", "min"), "to_other_core_min": _C("到另一中心城区", "min", "min"),
    "core_a_min": _C("到中心城区甲", "min", "min"), "core_b_min": _C("到中心城区乙", "min", "min"),
    "worse_core_min": _C("到较远中心城区", "min", "min"), "hsr_min": _C("到高铁站", "min", "min"),
    "expressway_min": _C("到高速公路", "min", "min"),
    "design_speed_kmh": _C("设计速度", "km/h", "kmh"), "qgis_speed_kmh": _C("QGIS 计算速度", "km/h", "number"),
    "speed_kmh": _C("速度", "km/h", "kmh"),
    "population_2020": _C("常住人口 (2020)", "人", "people"), "population": _C("人口", "人", "people"),
    "population_urban_2020": _C("城镇人口 (2020)", "人", "people"), "population_rural_2020": _C("乡村人口 (2020)", "人", "people"),
    "road_km": _C("公路里程", "km", "km"), "road_km_year": _C("公路里程年份", "", "int"), "road_km_basis": _C("公路里程依据"),
    "road_km_source": _C("公路里程来源"), "road_density_km_per_100km2": _C("公路密度", "km/100 km²", "number"),
    "total_length_km": _C("全线长度", "km", "km"), "route_factor": _C("线路曲折系数", "", "number"),
    "route_factor_source": _C("曲折系数来源"), "operating_speed_kmh": _C("运营速度", "km/h", "kmh"),
    "speed_source": _C("速度来源"), "case": _C("情形"), "factor": _C("系数", "", "number"),
    "local_road_kmh": _C("本地道路速度", "km/h", "kmh"),
    "fact_id": _C("事实编号"), "from": _C("起点编号"), "to": _C("终点编号"), "from_name": _C("起点"), "to_name": _C("终点"),
    "compared": _C("比较量"), "fact_minutes": _C("公布时间", "min", "min"), "model_minutes": _C("模型时间", "min", "min"),
    "fact_km": _C("公布里程", "km", "km"), "model_km": _C("模型里程", "km", "km"), "within_band": _C("在容差内"),
    "model_door_minutes": _C("模型门到门时间", "min", "min"), "bound": _C("界限"), "role": _C("用途"),
    "model_fact_ratio": _C("模型/公布比", "", "number"), "source_strength": _C("来源可靠性"),
    "feature_count": _C("要素数", "", "count"), "indicative_count": _C("示意要素数", "", "count"),
    "cells": _C("栅格数", "", "count"), "partners": _C("联系单元数", "", "count"),
    "partners_with_data": _C("有数据的联系单元数", "", "count"), "site_rank": _C("排名", "", "int"),
    "candidate_rank_changed": _C("权重变动后排名", "", "int"),
    "facilities_within_1km": _C("1公里内配套设施", "个", "count"), "facilities_within_3km": _C("3公里内配套设施", "个", "count"),
    "facilities_within_5km": _C("5公里内配套设施", "个", "count"),
    "share_of_a": _C("占园区比例", "", "share"), "share_of_b": _C("占生态区比例", "", "share"),
    "share_of_feature": _C("占要素比例", "", "share"), "share_of_line": _C("占线路比例", "", "share"),
    "share_suitable": _C("适宜比例", "", "share"), "share_in_urban_district": _C("位于市辖区比例", "", "share"),
    "unreachable_share": _C("不可达比例", "", "share"), "cross_city_share": _C("跨市联系占比", "", "share"),
    "strength_rel": _C("相对强度", "", "share"), "strength_scenario_rel": _C("情景相对强度", "", "share"),
    "strength_change_pct": _C("强度变化", "%", "pct"),
    "score": _C("总分 (0–1)", "", "score"), "suitability_score": _C("适宜性得分 (1–5)", "", "score"),
    "total_linkage": _C("联系总量", "10⁶ 人²/min²", "gravity"), "strength": _C("联系强度", "10⁶ 人²/min²", "gravity"),
    "cross_city_linkage": _C("跨市联系量", "10⁶ 人²/min²", "gravity"),
    "strongest_strength": _C("最强联系强度", "10⁶ 人²/min²", "gravity"),
    "lon": _C("经度", "°", "deg"), "lat": _C("纬度", "°", "deg"), "park_lon": _C("园区点经度", "°", "deg"),
    "park_lat": _C("园区点纬度", "°", "deg"), "target_lon": _C("目标点经度", "°", "deg"), "target_lat": _C("目标点纬度", "°", "deg"),
    "opening_year": _C("开通年份", "", "year"), "approval_year": _C("批准年份", "", "year"),
    "touches": _C("相接", "", "bool"), "same_city": _C("同市", "", "bool"), "cross_city": _C("跨市", "", "bool"),
    "reachable": _C("可达", "", "bool"), "indicative": _C("涉及示意几何", "", "bool"), "oneway": _C("单向", "", "bool"),
    "in_changed_top": _C("仍在前列", "", "bool"), "area_verified": _C("面积已核实", "", "bool"),
    "at_attachment": _C("接入点", "", "bool"), "base": _C("现状", "", "number"), "scenario": _C("情景", "", "number"),
    # indicators of the indicator/value tables (twin_city.csv, linkage_summary.csv)
    "core_to_core_fastest_min": _C("中心城区间最快时间", "min", "min"), "core_to_core_road_min": _C("中心城区间公路时间", "min", "min"),
    "cross_city_share_of_all_linkage": _C("跨市联系占全部联系", "", "share"), "gravity_b": _C("距离衰减指数 b", "", "number"),
    "units_without_population": _C("无人口数据的单元", "", "count"), "access_index": _C("可达性指数", "容量/人", "number"),
    "facilities_within": _C("集水区内设施数", "个", "count"), "rank": _C("排名", "", "int"), "capacity": _C("容量", "", "number"),
    "ratio": _C("供需比", "容量/人", "number"), "facility_id": _C("设施编号", "", "id"),
}
_SUFFIX = {"_base": "（现状）", "_scenario": "（情景）", "_change": "（变化）"}
_PREFIX = {"a_": "园区", "b_": "生态区", "line_": "线路", "zone_": "生态区", "park_": "园区", "target_": "最近目标"}
_CIRCLE = re.compile(r"^(area_share|area_km2|population_share|population)_(\d+)min$")
_SUIT = {"unsuitable": "不适宜", "fair": "一般适宜", "suitable": "适宜", "no_data": "无数据"}
_SITE = {"balance": "两中心均衡", "hsr": "高铁站可达", "expressway": "高速公路可达", "suitability": "建设适宜性",
         "park_distance": "离现有园区"}


def _pattern(name: str) -> ColumnInfo | None:
    """Families of columns named by a pattern (1-hour circles, suitability areas, site components)."""
    m = _CIRCLE.match(name)
    if m:
        what, mins = m.groups()
        label = {"area_share": ("面积比例", "", "share"), "area_km2": ("面积", "km²", "km2"),
                 "population_share": ("人口比例", "", "share"), "population": ("人口（估算）", "人", "people_est")}[what]
        return ColumnInfo(f"{int(mins)}分钟圈内{label[0]}", label[1], label[2])
    if name.startswith("area_km2_") and name[9:] in _SUIT:
        return ColumnInfo(f"{_SUIT[name[9:]]}面积", "km²", "km2")
    for key, zh in _SITE.items():
        if name == f"{key}_component":
            return ColumnInfo(f"{zh}分项 (0–1)", "", "score")
        if name == f"{key}_points":
            return ColumnInfo(f"{zh}得分", "", "score")
    if name.startswith("facilities_within_"):
        return ColumnInfo(f"{name[18:].replace('km', '')}公里内配套设施", "个", "count")
    return None


def column_info(name: str) -> ColumnInfo:
    """The field dictionary's entry for a column (exact name, then patterns, suffixes and prefixes).

    Unknown columns keep their own name as label (kind ``text``), so nothing is hidden.

    Parameters
    ----------
    name : str
        A column of a run's CSV or GeoPackage layer.

    Returns
    -------
    ColumnInfo
        Chinese label, unit and kind.

    Examples
    --------
    >>> column_info("mean_min_change").header()
    '平均时间（变化） (min)'
    >>> column_info("a_name_zh").zh, column_info("adcode").kind
    ('园区名称', 'code')
    >>> column_info("population_60min").header()
    '60分钟圈内人口（估算） (人)'
    """
    if name in COLUMNS:
        return COLUMNS[name]
    found = _pattern(name)
    if found is not None:
        return found
    for suffix, zh in _SUFFIX.items():
        if name.endswith(suffix) and name != suffix:
            base = column_info(name[: -len(suffix)])
            kind = "number" if suffix == "_change" and base.kind in ("people", "people_est", "count") else base.kind
            return ColumnInfo(base.zh + zh, base.unit, kind)
    for prefix, zh in _PREFIX.items():
        rest = name[len(prefix):]
        if name.startswith(prefix) and (rest in COLUMNS or _pattern(rest) is not None):
            base = column_info(rest)
            return ColumnInfo(zh + base.zh, base.unit, base.kind)
    if ":" in name:  # park_corridor_matrix_km.csv: class:target_id
        return ColumnInfo(f"距 {name}", "km", "km")
    return _by_suffix(name)


def _by_suffix(name: str) -> ColumnInfo:
    """A column the dictionary does not know: its own name, with the unit its suffix states."""
    for suffix, unit, kind in (("_min", "min", "min"), ("_km2", "km²", "km2"), ("_km", "km", "km"), ("_m", "m", "m"),
                               ("_kmh", "km/h", "kmh"), ("_pct", "%", "pct")):
        if name.endswith(suffix):
            return ColumnInfo(name, unit, kind)
    if "share" in name:
        return ColumnInfo(name, "", "share")
    return ColumnInfo(name)


def is_code_column(name: str) -> bool:
    """True for identifiers (adcodes, ids) that must stay text (``150402``, not ``150,402`` or ``1.5e5``).

    Parameters
    ----------
    name : str

    Returns
    -------
    bool
    """
    return column_info(name).kind in ("code", "id")


# ---------------------------------------------------------------------------------------------- formula injection


def needs_neutralising(text) -> bool:
    """True for a text cell a spreadsheet could take for a formula (the OWASP rule of :func:`~twinstar_gis.data.io.neutralise_cell`).

    Parameters
    ----------
    text : object
        A cell value.

    Returns
    -------
    bool

    Examples
    --------
    >>> needs_neutralising("=1+1"), needs_neutralising("-27_-63"), needs_neutralising("-5"), needs_neutralising(3.5)
    (True, True, False, False)
    """
    return isinstance(text, str) and neutralise_cell(text) != text and not text.startswith("'")


def neutralise(text):
    """OWASP's rule for text cells (:func:`~twinstar_gis.data.io.neutralise_cell`, the rule every CSV of a run follows).

    >>> neutralise("-27_-63"), neutralise("=1+1"), neutralise("赤峰"), neutralise(3.5)
    ("'-27_-63", "'=1+1", '赤峰', 3.5)

    Parameters
    ----------
    text : object
        A cell value; only text is changed.

    Returns
    -------
    object
        The value, ``'``-prefixed when it could be read as a formula.
    """
    return neutralise_cell(text)


# ---------------------------------------------------------------------------------------------- GeoPackage 1.2
def gpkg_version(path) -> str:
    """The GeoPackage version a file declares (``PRAGMA user_version``): ``"1.2"``, ``"1.4"`` ...

    Raises :class:`DataSourceError` when the file is not a GeoPackage.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    str
        ``major.minor``.
    """
    con = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True)
    try:
        app, uv = con.execute("PRAGMA application_id").fetchone()[0], con.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise DataSourceError(f"{path}: not a GeoPackage ({exc}).") from None
    finally:
        con.close()
    if app != 0x47504B47:  # "GPKG"
        raise DataSourceError(f"{path}: not a GeoPackage 1.2+ (application_id {app:#x}).")
    return f"{uv // 10000}.{uv // 100 % 100}"


def ensure_gpkg_1_2(path) -> bool:
    """Rewrite a GeoPackage of another version as 1.2 (same layers, tables, columns, order); True if rewritten.

    A no-op for a 1.2 file.  Layers are read and written with pyogrio; integer columns with missing values
    stay integer (read as nullable integers).  Files with raster tiles are refused.

    Parameters
    ----------
    path : path-like
        A GeoPackage (rewritten in place, atomically).

    Returns
    -------
    bool
        True when the file was rewritten.
    """
    path = Path(path)
    if gpkg_version(path) == GPKG_VERSION:
        return False
    listing = pyogrio.list_layers(path)
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tiles = con.execute("SELECT count(*) FROM gpkg_contents WHERE data_type NOT IN ('features', 'attributes')").fetchone()[0]
    finally:
        con.close()
    if tiles:
        raise DataSourceError(f"{path}: holds raster tiles; cannot rewrite it as GeoPackage {GPKG_VERSION}.")
    layers, tables = {}, {}
    for name, gtype in listing:
        info = pyogrio.read_info(path, layer=name)
        df = pyogrio.read_dataframe(path, layer=name)
        for col, ftype in zip(info["fields"], info["dtypes"]):
            if str(ftype).startswith("int") and df[col].dtype.kind == "f":  # NULLs read as NaN: back to integers
                df[col] = df[col].astype("Int64")
        (tables if gtype is None else layers)[name] = df
    write_gpkg(path, layers, tables)
    return True


# ---------------------------------------------------------------------------------------------- CSV types
_INT = re.compile(r"^[+-]?\d+$")
_REAL = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(inf|nan)$", re.IGNORECASE)


def csvt_types(table: pd.DataFrame) -> list[str]:
    """GDAL CSV types (``"String"``, ``"Integer64"``, ``"Real"``) of a table read as text (``dtype=str``).

    Codes and ids are ``String`` whatever they look like; a column whose every non-empty cell is an
    integer is ``Integer64``, a number ``Real``; anything else (booleans, text) ``String``.

    >>> csvt_types(pd.DataFrame({"adcode": ["150402"], "cells": ["31"], "mean_min": ["56.8"], "name_zh": ["红山区"]}))
    ['String', 'Integer64', 'Real', 'String']

    Parameters
    ----------
    table : pandas.DataFrame
        The CSV read as text.

    Returns
    -------
    list of str
        One GDAL type per column.
    """
    out = []
    for col in table.columns:
        vals = table[col].dropna().astype(str)
        vals = vals[vals != ""]
        if is_code_column(str(col)) or vals.empty:
            out.append("String")
        elif vals.str.match(_INT).all():
            out.append("Integer64")
        elif vals.str.match(_REAL).all():
            out.append("Real")
        else:
            out.append("String")
    return out


def write_csvt(csv_path) -> Path:
    """Write ``<name>.csvt`` beside a CSV: one line, one quoted GDAL type per column (:func:`csvt_types`).

    QGIS (its OGR provider, used when a CSV is dragged in) and GDAL then read numbers as numbers and
    adcodes as text; without it every column is text.

    Parameters
    ----------
    csv_path : path-like

    Returns
    -------
    pathlib.Path
        The ``.csvt`` written.
    """
    csv_path = Path(csv_path)
    table = read_csv_table(csv_path, dtype=str, keep_default_na=False)
    target = csv_path.with_suffix(".csvt")
    with atomic_output(target) as tmp:
        tmp.write_text(",".join(f'"{t}"' for t in csvt_types(table)) + "\n", encoding="ascii")
    return target


def write_csvt_sidecars(run_dir) -> list[Path]:
    """A ``.csvt`` beside every CSV under ``run_dir`` (sorted). Returns the files written.

    Parameters
    ----------
    run_dir : path-like

    Returns
    -------
    list of pathlib.Path
        The ``.csvt`` files written.
    """
    return [write_csvt(p) for p in sorted(Path(run_dir).rglob("*.csv"))]


# ---------------------------------------------------------------------------------------------- workbook
#: Known tables of a run: relative path -> (Chinese title, English title).
TABLES = {
    "analysis/park_corridor_nearest.csv": ("园区到各类交通走廊的最近距离", "Nearest corridor of each class per park"),
    "analysis/park_corridor_matrix_km.csv": ("园区—走廊距离矩阵", "Park x corridor distance matrix (km)"),
    "analysis/conflicts.csv": ("生态冲突", "Conflicts with ecological zones"),
    "analysis/park_eco_overlaps.csv": ("园区与生态区重叠", "Park x ecological zone overlaps"),
    "analysis/corridor_eco_stretches.csv": ("走廊穿越生态区路段", "Corridor stretches inside zones"),
    "analysis/county_adjacency.csv": ("旗县区相邻关系", "County adjacency and shared borders"),
    "analysis/park_indicators.csv": ("产城融合指标", "Industry-city integration indicators"),
    "access/od_matrix_minutes.csv": ("出行时间矩阵", "OD matrix (minutes)"),
    "access/access_to_nearest.csv": ("到最近中心城区/高铁站/高速", "Time to the nearest core, HSR station, expressway"),
    "access/county_access.csv": ("旗县区可达性", "Accessibility per county"),
    "access/twin_city.csv": ("双城指标", "Twin-city indicators"),
    "access/assumptions.csv": ("速度假设", "Speed assumptions"),
    "access/coverage.csv": ("路网覆盖", "Network coverage"),
    "access/scenario_counties.csv": ("情景：旗县区变化", "Scenario: change per county"),
    "access/scenario_places.csv": ("情景：地点变化", "Scenario: change per place"),
    "planning/suitability_by_county.csv": ("建设适宜性分级面积", "Construction suitability by county"),
    "planning/sites.csv": ("合作共建园区候选选址", "Joint-park candidate sites"),
    "planning/sites_sensitivity.csv": ("选址权重敏感性", "Site ranking sensitivity (±25 % weights)"),
    "planning/linkage_units.csv": ("引力联系（旗县区）", "Gravity linkage per county"),
    "planning/linkage_pairs.csv": ("引力联系（县对）", "Gravity linkage per pair"),
    "planning/linkage_summary.csv": ("双城联系指标", "Twin-city linkage indicators"),
    "planning/assumptions.csv": ("规划分析设置", "Planning settings"),
    "planning/access_2sfca_counties.csv": ("两步移动搜索法（旗县区）", "2SFCA per county"),
    "planning/access_2sfca_facilities.csv": ("两步移动搜索法（设施）", "2SFCA per facility"),
    "planning/access_2sfca_parks.csv": ("两步移动搜索法（园区）", "2SFCA per park"),
}
_NUMBER_FORMAT = {"km": "0.0", "m": "0", "km2": "#,##0.0", "min": "0.0", "share": "0.0%", "pct": "0.0", "score": "0.000",
                  "people": "#,##0", "people_est": "#,##0", "count": "0", "int": "0", "deg": "0.00000", "kmh": "0",
                  "gravity": "#,##0", "year": "0"}


def _sheet_names(rels) -> dict:
    """Unique Excel sheet names (<= 31 characters, no []:*?/\\) for the tables, by their CSV stem."""
    out, used = {}, set()
    for rel in rels:
        base = re.sub(r"[\[\]:*?/\\]", "_", Path(rel).stem)[:28]
        name, i = base, 2
        while name.lower() in used:
            name, i = f"{base[:26]}_{i}", i + 1
        used.add(name.lower())
        out[rel] = name
    return out


def _cell_value(v, kind):
    """A CSV cell (text) as the workbook stores it: numbers as numbers, codes as text, empty as empty."""
    if v is None or v == "":
        return None
    if kind in ("code", "id", "text", "bool"):
        return v
    try:
        x = float(v)
    except ValueError:
        return v
    return int(x) if _INT.match(v) and abs(x) < 2**53 else x


def _write_sheet(ws, table: pd.DataFrame, styles) -> None:
    """Header rows (Chinese label + unit, then the CSV's column name) and the cells, typed by the field
    dictionary, streamed into a write-only sheet (widths and panes first: they precede the rows in the file)."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter

    info = [column_info(str(c)) for c in table.columns]
    for j, i in enumerate(info, start=1):
        ws.column_dimensions[get_column_letter(j)].width = min(40, max(8, 2 + 1.6 * len(i.header())))
    ws.freeze_panes = "A3"

    def cell(value, **style):
        c = WriteOnlyCell(ws, value=value)
        if isinstance(value, str):
            c.data_type = "s"  # a header from a project's own column name is text too, never a formula
        for k, v in style.items():
            setattr(c, k, v)
        return c

    ws.append([cell(i.header(), font=styles["bold"], fill=styles["fill"]) for i in info])
    ws.append([cell(str(c), font=styles["grey"]) for c in table.columns])
    fmts = [_NUMBER_FORMAT.get(i.kind) for i in info]
    for row in table.itertuples(index=False):
        out = []
        for v, i, fmt in zip(row, info, fmts):
            value = _cell_value(v, i.kind)
            if isinstance(value, str):
                c = WriteOnlyCell(ws, value=value)
                c.data_type = "s"  # never a formula, whatever it starts with
                if needs_neutralising(value):
                    c.quotePrefix = True  # Excel's own "this is text" marker (OWASP: '-prefix)
                out.append(c)
            elif fmt and value is not None:
                out.append(cell(value, number_format=fmt))
            else:
                out.append(value)
        ws.append(out)
    if len(table.columns):
        ws.auto_filter.ref = f"A2:{get_column_letter(len(table.columns))}{len(table) + 2}"


def _readme_rows(manifest: dict, sheets: dict, columns: list) -> list[list]:
    proj = manifest.get("project") or {}
    rows = [["赤峰–通辽 双子星座 运行结果表格 · Twin Star run tables"], [],
            ["数据 Data", f"project {proj['name']}" if proj else "embedded Twin Star dataset"],
            ["开始时间 Run started (UTC)", manifest.get("started", "")], ["软件 Tool", f"twinstar_gis {manifest.get('version', '')}"],
            ["说明 Notes", "每张表第1行为中文字段名与单位，第2行为CSV原字段名；空单元格表示缺失（不是0）。"
                         "Row 1: Chinese label and unit; row 2: the CSV column name. An empty cell is missing, never 0."],
            [], ["工作表 Sheet", "来源文件 Source file", "内容 Contents"]]
    rows += [[name, rel, " · ".join(TABLES.get(rel, ("", "")))] for rel, name in sheets.items()]
    rows += [[], ["字段 Field", "中文名称", "单位 Unit"]]
    rows += [[c, column_info(c).zh, column_info(c).unit] for c in columns]
    return rows


def write_workbook(run_dir, *, manifest: dict | None = None, path=None) -> Path:
    """Write ``tables.xlsx``: every CSV of the run as a sheet, Chinese headers with units, a README sheet.

    Parameters
    ----------
    run_dir : path-like
        The run folder (its CSVs are read, nothing is recomputed).
    manifest : dict, optional
        The run's manifest while it is staged; otherwise ``run.json`` is read.
    path : path-like, optional
        Default ``run_dir/tables.xlsx``.

    Returns
    -------
    pathlib.Path
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font, PatternFill

    from .folder import read_run

    root = Path(run_dir)
    manifest = manifest if manifest is not None else read_run(root, verify=False)
    rels = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.csv"))
    rels = [r for r in TABLES if r in rels] + [r for r in rels if r not in TABLES]
    sheets = _sheet_names(rels)
    styles = {"bold": Font(bold=True), "grey": Font(color="777777", italic=True),
              "fill": PatternFill("solid", fgColor="EEF4FA")}
    wb = Workbook(write_only=True)  # streamed: a 1M-edge run's 83k-row tables took 34 s as cell objects
    readme = wb.create_sheet("说明 README")
    readme.column_dimensions["A"].width, readme.column_dimensions["B"].width = 34, 44
    readme.column_dimensions["C"].width = 60
    columns = []
    for rel, name in sheets.items():
        table = read_csv_table(root / rel, dtype=str, keep_default_na=False)
        columns += [str(c) for c in table.columns if str(c) not in columns and ":" not in str(c)]
        _write_sheet(wb.create_sheet(name), table, styles)
    for k, row in enumerate(_readme_rows(manifest, sheets, columns)):
        row = [neutralise(v) if isinstance(v, str) else v for v in row]
        if k == 0 and row:
            title = WriteOnlyCell(readme, value=row[0])
            title.font = Font(bold=True, size=13)
            row = [title] + row[1:]
        readme.append(row)
    path = Path(path) if path else root / "tables.xlsx"
    with atomic_output(path) as tmp:
        wb.save(tmp)
    log.info("wrote %s (%d sheets)", path, len(sheets))
    return path


# ---------------------------------------------------------------------------------------------- network for QGIS
#: Smallest separation (degrees, ~0.1 m) between two graph nodes QGIS must not join.
NODE_SEPARATION_DEG = 2e-6
#: Exported vertices sit on this grid (degrees, ~1 mm): QGIS 3.22 joins vertices closer than ~1e-10 degrees
#: (measured), so vertices the model keeps apart must be exactly equal or at least a grid step apart.
VERTEX_GRID_DEG = 1e-8


def _separate(keys: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Snap vertices to :data:`VERTEX_GRID_DEG`, then move apart (by multiples of :data:`NODE_SEPARATION_DEG`
    east) vertices at one point with different ``keys``.

    QGIS's graph builder joins every pair of vertices at (nearly) the same point; the model keeps some of
    them apart (a rail vertex on a road vertex, a station on its track, an attachment on an existing
    vertex).  The first key at a point stays; the others move east by 1, 2, ... separations.
    """
    lon = np.round(np.asarray(lon, float) / VERTEX_GRID_DEG) * VERTEX_GRID_DEG
    lat = np.round(np.asarray(lat, float) / VERTEX_GRID_DEG) * VERTEX_GRID_DEG
    for _ in range(10):
        pts = pd.DataFrame({"x": lon, "y": lat, "k": keys})
        firsts = pts.drop_duplicates(["x", "y", "k"])
        rank = firsts.groupby(["x", "y"], sort=False).cumcount()
        moved = rank[rank > 0]
        if moved.empty:
            return lon, lat
        shift = pd.Series(moved.to_numpy(float) * NODE_SEPARATION_DEG, index=pd.MultiIndex.from_frame(
            firsts.loc[moved.index, ["x", "y", "k"]]))
        idx = pd.MultiIndex.from_arrays([lon, lat, keys])
        lon = np.round((lon + shift.reindex(idx).fillna(0.0).to_numpy()) / VERTEX_GRID_DEG) * VERTEX_GRID_DEG
    raise TwinstarError("network export: could not separate coincident graph nodes for QGIS (10 passes).")


def _edge_table(network, scenario: bool):
    """The physical edges to export: self-loops dropped, scenario-only edges only in the scenario layer, a
    straight line where the network kept no geometry (a lean model)."""
    import geopandas as gpd
    import shapely

    e = network.edges
    keep = e["u"].to_numpy() != e["v"].to_numpy()
    if not scenario and "scenario" in e:
        keep &= ~e["scenario"].fillna(False).to_numpy(bool)
    e = e[keep].reset_index(drop=True)
    geom = np.asarray(e.geometry.values, dtype=object)
    missing = np.array([g is None or g.is_empty for g in geom], bool)
    if missing.any():
        u, v = e["u"].to_numpy()[missing], e["v"].to_numpy()[missing]
        lon, lat = np.asarray(network.lon, float), np.asarray(network.lat, float)
        geom[missing] = shapely.linestrings(np.stack([np.column_stack([lon[u], lat[u]]), np.column_stack([lon[v], lat[v]])], 1))
    return gpd.GeoDataFrame(e.drop(columns=e.geometry.name), geometry=list(geom), crs="EPSG:4326")


def _direction(oneway) -> np.ndarray:
    """QGIS's direction values: ``F`` only along the line (u -> v), ``R`` only against it, ``B`` both.

    ``oneway`` as the network gives it: 1 / -1 / 0, or True (u -> v) / False.
    """
    o = np.asarray(oneway)
    o = o.astype(np.int8) if o.dtype == bool else np.nan_to_num(o.astype(float)).astype(np.int8)
    return np.where(o > 0, "F", np.where(o < 0, "R", "B"))


def network_layer(network, *, scenario: bool = False):
    """The run's network as QGIS's network tools read it: one line per edge, direction and speed fields.

    Parameters
    ----------
    network : twinstar_gis.model.network.Network
        ``AccessResult.network`` of the run (its ``edges``: ``u``, ``v``, ``mode``, ``cls``, ``corridor_id``,
        ``km``, ``minutes``, ``oneway``, geometry from ``u`` to ``v``; ``scenario`` when the network holds
        scenario-only edges).
    scenario : bool
        Export the scenario's network (scenario-only edges included); else today's.

    Returns
    -------
    (geopandas.GeoDataFrame, geopandas.GeoDataFrame)
        Edges -- ``edge_id``, ``from_node``, ``to_node``, ``mode``, ``class``, ``corridor_id``, ``km``,
        ``minutes``, ``direction`` (``F``: only along the line, ``R``: only against it, ``B``: both),
        ``qgis_speed_kmh`` (the line's ellipsoidal length / ``minutes``: QGIS's "fastest" cost is then the
        model's time, boarding and transfer minutes included), geometry (WGS-84) -- and nodes (``node``,
        ``kind``, ``place_id`` of places, parks and stations, points).  Vertices QGIS would join but the model
        keeps apart are moved apart by about 0.1 m (:data:`NODE_SEPARATION_DEG`).  QGIS knows no turn
        restrictions and no "destination only" edges: where the model applies them its times are longer.
    """
    import geopandas as gpd
    import shapely

    from ..data.crs import GEOD

    e = _edge_table(network, scenario)
    coords, part = shapely.get_coordinates(np.asarray(e.geometry.values), return_index=True)
    first = np.r_[True, part[1:] != part[:-1]]
    last = np.r_[part[1:] != part[:-1], True]
    # identity of a vertex in the model: its graph node at an edge's ends, its own point inside an edge
    keys = np.where(first, e["u"].to_numpy()[part], np.where(last, e["v"].to_numpy()[part], -1 - np.arange(len(part))))
    node_lon = np.asarray(network.lon, float)
    node_lat = np.asarray(network.lat, float)
    x = np.where(keys >= 0, node_lon[np.clip(keys, 0, None)], coords[:, 0])
    y = np.where(keys >= 0, node_lat[np.clip(keys, 0, None)], coords[:, 1])
    x, y = _separate(keys, x, y)
    geoms = shapely.linestrings(np.column_stack([x, y]), indices=part)
    seg = np.zeros(len(x))
    same = part[1:] == part[:-1]
    seg[1:][same] = GEOD.inv(x[:-1][same], y[:-1][same], x[1:][same], y[1:][same])[2] / 1000
    km_drawn = np.bincount(part, weights=seg, minlength=len(e))
    minutes = e["minutes"].to_numpy(float)
    edges = gpd.GeoDataFrame({
        "edge_id": np.arange(len(e), dtype=np.int64), "from_node": e["u"].to_numpy(np.int64),
        "to_node": e["v"].to_numpy(np.int64), "mode": e["mode"].astype(str).to_numpy(),
        "class": e["cls"].astype(str).to_numpy(),
        "corridor_id": e["corridor_id"].astype(str).to_numpy() if "corridor_id" in e else "",
        "km": np.round(e["km"].to_numpy(float), 4), "minutes": minutes, "direction": _direction(e["oneway"]),
        "qgis_speed_kmh": km_drawn / (minutes / 60.0)}, geometry=geoms, crs="EPSG:4326")
    nx, ny = _node_points(network, keys, x, y)
    place = pd.Series(network.place_index.index.astype(str), index=network.place_index.to_numpy())
    nodes = gpd.GeoDataFrame({"node": np.arange(network.n, dtype=np.int64), "kind": np.asarray(network.kind, str),
                              "place_id": place.reindex(np.arange(network.n)).fillna("").to_numpy(str)},
                             geometry=gpd.points_from_xy(nx, ny), crs="EPSG:4326")
    log.info("network for QGIS: %d edges, %d nodes%s", len(edges), network.n, " (scenario)" if scenario else "")
    return edges, nodes


def _node_points(network, keys, x, y):
    """Where each graph node is drawn in the exported edges (its own position if no edge touches it)."""
    nx, ny = np.asarray(network.lon, float).copy(), np.asarray(network.lat, float).copy()
    at = keys >= 0
    nx[keys[at]], ny[keys[at]] = x[at], y[at]
    return nx, ny


def network_nodes(network):
    """The graph nodes of :func:`network_layer` (its second result).

    Parameters
    ----------
    network : twinstar_gis.model.network.Network

    Returns
    -------
    geopandas.GeoDataFrame
        Node points (``node``, ``kind``, ``place_id``).
    """
    return network_layer(network)[1]


def write_network(path, base, scenario=None) -> Path:
    """``access/network.gpkg``: layers ``network`` and ``network_nodes`` (and ``network_scenario`` /
    ``network_scenario_nodes`` when the run has a scenario), GeoPackage 1.2.

    Parameters
    ----------
    path : path-like
    base, scenario : Network or None
        The networks of the run's base model and scenario model.

    Returns
    -------
    pathlib.Path
    """
    layers = {}
    for name, net in (("network", base), ("network_scenario", scenario)):
        if net is not None and len(net.edges):
            edges, nodes = network_layer(net, scenario=name != "network")
            layers[name], layers[f"{name}_nodes"] = edges, nodes
    return write_gpkg(path, layers)


# ---------------------------------------------------------------------------------------------- rasters
#: The name a planner sees for the regional equal-area projection (Albers, 41.5°/45.5°N, 120.5°E, WGS-84; the
#: model stream names data.crs.EQUAL_AREA_CRS the same) when a
#: file carries it without one: there is no EPSG code for it.  QGIS shows this name instead of "unknown".
EQUAL_AREA_NAME = "Twin Star Albers Equal Area"


def named_crs(crs):
    """``crs`` with a name: the regional equal-area projection gets :data:`EQUAL_AREA_NAME` when it has none
    (``"unknown"``); any other CRS is returned as it is.

    >>> from twinstar_gis.data.crs import EQUAL_AREA_CRS
    >>> named_crs(EQUAL_AREA_CRS).name, named_crs(EQUAL_AREA_CRS).equals(EQUAL_AREA_CRS)
    ('Twin Star Albers Equal Area', True)

    Parameters
    ----------
    crs : any
        Anything pyproj accepts (WKT, EPSG code, CRS).

    Returns
    -------
    pyproj.CRS
    """
    from pyproj import CRS

    from ..data.crs import EQUAL_AREA_CRS

    crs = CRS.from_user_input(crs)
    if crs.name in ("unknown", "") and crs.equals(EQUAL_AREA_CRS, ignore_axis_order=True):
        d = crs.to_json_dict()
        d["name"] = EQUAL_AREA_NAME
        if isinstance(d.get("base_crs"), dict) and d["base_crs"].get("name") in ("unknown", ""):
            d["base_crs"]["name"] = "WGS 84"
        crs = CRS.from_json_dict(d)
    return crs


#: GeoTIFFs of a run: relative path -> (band description, unit).
RASTERS = {
    "data/twinstar_dem.tif": ("高程 elevation", "m"),
    "access/time_to_cores.tif": ("到最近中心城区的出行时间 travel time to the nearest city core", "min"),
    "access/time_to_hsr_stations.tif": ("到最近高铁站的出行时间 travel time to the nearest operating HSR station", "min"),
    "access/scenario_time_to_cores.tif": ("情景：到最近中心城区的出行时间 scenario: travel time to the nearest city core",
                                          "min"),
    "planning/suitability_classes.tif": ("城镇建设适宜性等级 suitability class: 1 不适宜 unsuitable, 2 一般适宜 fair, "
                                         "3 适宜 suitable, 0 outside", "class"),
    "planning/suitability_score.tif": ("建设适宜性加权得分 weighted suitability grade (1-5)", "grade"),
}


def _crs_name(crs) -> str:
    from pyproj import CRS

    return CRS.from_wkt(crs.to_wkt()).name


def describe_rasters(run_dir) -> list[Path]:
    """Write the band description and unit of every GeoTIFF of :data:`RASTERS` the run has (in the file's
    own metadata, so GIS software shows "min" or "m" for the values), and name an unnamed equal-area CRS
    (:func:`named_crs`; the same projection, now with a name).

    Parameters
    ----------
    run_dir : path-like
        The run folder (staged: the files change).

    Returns
    -------
    list of pathlib.Path
        The GeoTIFFs changed.
    """
    import rasterio
    from rasterio.crs import CRS as RioCRS

    done = []
    for rel, (desc, unit) in RASTERS.items():
        p = Path(run_dir) / rel
        if not p.is_file():
            continue
        with rasterio.open(p, "r+") as dst:
            dst.set_band_description(1, desc)
            dst.set_band_unit(1, unit)
            if dst.crs is not None:
                named = named_crs(dst.crs.to_wkt())
                if named.name == EQUAL_AREA_NAME and named_crs(dst.crs.to_wkt()).name != _crs_name(dst.crs):
                    dst.crs = RioCRS.from_wkt(named.to_wkt())
        done.append(p)
    return done


# ---------------------------------------------------------------------------------------------- CRS and export
EXPORT_FORMATS = ("gpkg", "shp")


def resolve_crs(text):
    """A CRS for vector exports: ``EPSG:4326`` (WGS-84), ``EPSG:4490`` (CGCS2000) or a CGCS2000 Gauss-Krueger zone.

    Any CRS pyproj knows is accepted (``EPSG:4549`` = CGCS2000 3° GK CM 120°E; ``EPSG:4528`` = zone 40 with
    prefix); GCJ-02 / BD-09 are not CRSs (they are offsets, see ``--coord-system`` of the readers).

    Raises
    ------
    CRSError
        Not a CRS pyproj knows.

    Parameters
    ----------
    text : str
        ``EPSG:4549``, ``EPSG:4490`` ...

    Returns
    -------
    pyproj.CRS

    Examples
    --------
    >>> resolve_crs("EPSG:4549").name
    'CGCS2000 / 3-degree Gauss-Kruger CM 120E'
    """
    from pyproj import CRS
    from pyproj.exceptions import CRSError as PyprojCRSError

    if str(text).strip().lower() in ("gcj02", "gcj-02", "bd09", "bd-09"):
        raise CRSError(f"--crs {text}: GCJ-02 / BD-09 are offsets, not coordinate systems; export in EPSG:4326, "
                       "EPSG:4490 or a CGCS2000 Gauss-Krüger zone (e.g. EPSG:4549).")
    try:
        return CRS.from_user_input(text)
    except PyprojCRSError as exc:
        raise CRSError(f"--crs {text}: not a coordinate system pyproj knows ({exc}). Give e.g. EPSG:4490 (CGCS2000) "
                       "or EPSG:4549 (CGCS2000 3° Gauss-Krüger CM 120°E).") from None


def shapefile_field_names(columns) -> dict:
    """Shapefile (DBF) field names, at most 10 ASCII characters and unique: column -> short name.

    Names that fit are kept; longer ones keep their first characters and end in a counter
    (``population_60min`` -> ``populati_1``) -- deterministic, in column order.

    >>> shapefile_field_names(["name_zh", "population_60min", "population_120min"])
    {'name_zh': 'name_zh', 'population_60min': 'populati_1', 'population_120min': 'populati_2'}

    Parameters
    ----------
    columns : iterable of str

    Returns
    -------
    dict
        Column -> field name (at most 10 characters, unique ignoring case).
    """
    out, used = {}, set()
    for c in columns:
        c = str(c)
        if len(c) <= 10 and c.isascii() and c.lower() not in used:
            out[c] = c
            used.add(c.lower())
    for c in columns:
        c = str(c)
        if c in out:
            continue
        stem = re.sub(r"[^A-Za-z0-9_]", "_", c)[:8] or "field"
        i = 1
        while f"{stem}_{i}"[:10].lower() in used:
            i += 1
        out[c] = f"{stem}_{i}"[:10] if i < 10 else f"{stem[:10 - len(str(i)) - 1]}_{i}"
        used.add(out[c].lower())
    return {c: out[str(c)] for c in columns}


@dataclass(frozen=True)
class ExportedLayer:
    """One layer written by :func:`export_run`: where, from which run layer, and its field names."""

    path: Path
    layer: str | None
    source: str
    source_layer: str
    fields: dict
    geometry_type: str


def _run_layers(root: Path):
    """(relative path, layer name, geometry type) of every vector layer of the run's GeoPackages."""
    out = []
    for p in sorted(root.glob("*/*.gpkg")):
        if p.parent.name.startswith("export"):
            continue
        for name, gtype in pyogrio.list_layers(p):
            if gtype is not None:
                out.append((p.relative_to(root).as_posix(), str(name), str(gtype)))
    return out


def _dbf_ready(gdf, encoding: str, where: str):
    """Columns as a DBF holds them: booleans as 1/0, text cut to 254 bytes in ``encoding``; refuses text the
    encoding cannot hold (naming the layer, column and value)."""
    gdf = gdf.copy()
    notes = {}
    for col in gdf.columns:
        if col == gdf.geometry.name:
            continue
        s = gdf[col]
        if s.dtype == bool or str(s.dtype) == "boolean":
            gdf[col] = s.astype("Int64")
            notes[col] = "1 = true, 0 = false"
        elif s.dtype == object or str(s.dtype).startswith(("str", "string")):
            vals = s.dropna().astype(str)
            for v in vals:
                try:
                    v.encode(encoding)
                except UnicodeEncodeError as exc:
                    raise DataSourceError(
                        f"{where}: column {col!r} holds {v!r}, whose character {v[exc.start]!r} {encoding} cannot "
                        f"store. Export with --encoding GB18030 or --encoding UTF-8 (both hold every character).") from None
            long = vals[vals.map(lambda v: len(v.encode(encoding)) > 254)]
            if len(long):
                gdf[col] = s.map(lambda v: v if not isinstance(v, str) else
                                 v.encode(encoding)[:254].decode(encoding, errors="ignore"))
                notes[col] = f"cut to 254 bytes in {len(long)} feature(s) (DBF limit); the GeoPackage has the full text"
    return gdf, notes


def _write_shapefile(gdf, path: Path, encoding: str) -> None:
    """One Shapefile (.shp .shx .dbf .prj .cpg), written atomically as a set."""
    tmp_dir = path.parent / f".{path.stem}.part"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    try:
        pyogrio.write_dataframe(gdf, tmp_dir / path.name, driver="ESRI Shapefile", encoding=encoding)
        for f in sorted(tmp_dir.iterdir()):
            f.replace(path.with_suffix(f.suffix))
    finally:
        for f in tmp_dir.glob("*"):
            f.unlink()
        tmp_dir.rmdir()


def _distortion(crs, gdf) -> float:
    """Largest linear scale error |k - 1| of a projected ``crs`` at the layer's vertices (0 for geographic)."""
    import shapely
    from pyproj import Proj

    if not crs.is_projected or gdf.empty:
        return 0.0
    xy = shapely.get_coordinates(np.asarray(gdf.to_crs(4326).geometry.values))
    f = Proj(crs).get_factors(xy[:, 0], xy[:, 1])
    k = np.maximum(np.abs(np.asarray(f.parallel_scale) - 1), np.abs(np.asarray(f.meridional_scale) - 1))
    return float(np.nanmax(k)) if len(k) else 0.0


def export_folder(run_dir, crs) -> Path:
    """The default export folder: ``run_dir/export_<CRS>`` (``export_EPSG4549``).

    Parameters
    ----------
    run_dir : path-like
    crs : str

    Returns
    -------
    pathlib.Path
    """
    return Path(run_dir) / f"export_{_crs_tag(resolve_crs(crs))}"


def _crs_tag(crs) -> str:
    auth = crs.to_authority()
    return f"{auth[0]}{auth[1]}" if auth else re.sub(r"[^A-Za-z0-9]+", "_", crs.name)[:30]


def _export_layer(root, rel, name, gtype, out, crs, formats, encoding, taken):
    """Write one run layer in ``crs`` as GeoPackage and/or Shapefile; returns (records, field-map rows, scale error).

    Shapefiles are named after their layer (``shp/data/boundaries.shp``), prefixed with their GeoPackage's
    name only when two layers of one folder share a name (``taken``)."""
    import geopandas as gpd

    gdf = gpd.read_file(root / rel, layer=name).to_crs(crs)
    records, rows = [], []
    stem = name if (Path(rel).parent.name, name) not in taken else f"{Path(rel).stem}__{name}"
    taken.add((Path(rel).parent.name, name))
    if "gpkg" in formats:
        target = out / "gpkg" / Path(rel).name
        records.append(ExportedLayer(target, name, rel, name, {c: c for c in gdf.columns if c != gdf.geometry.name}, gtype))
    if "shp" in formats:
        shp, notes = _dbf_ready(gdf, encoding, f"{rel} (layer {name})")
        names = shapefile_field_names([c for c in shp.columns if c != shp.geometry.name])
        shp = shp.rename(columns=names)
        target = out / "shp" / Path(rel).parent.name / f"{stem}.shp"
        _write_shapefile(shp, target, encoding)
        records.append(ExportedLayer(target, None, rel, name, names, gtype))
        for col, short in names.items():
            info = column_info(col)
            rows.append({"shapefile": target.relative_to(out).as_posix(), "field": short, "column": col,
                         "label_zh": info.zh, "unit": info.unit, "renamed": short != col, "note": notes.get(col, "")})
    return gdf, records, rows, _distortion(crs, gdf)


def export_run(run_dir, out_dir=None, *, crs="EPSG:4326", formats=("gpkg", "shp"), encoding: str = "GBK") -> list:
    """Every vector layer of a run in ``crs``, as GeoPackage and/or Shapefile, with a field map and a README.

    Parameters
    ----------
    run_dir : path-like
        A run folder (``twinstar run``); checked against its ``run.json``.
    out_dir : path-like, optional
        Default ``run_dir/export_<CRS>`` (``export_EPSG4549``).
    crs : str
        Target CRS (:func:`resolve_crs`): ``EPSG:4326``, ``EPSG:4490`` or a CGCS2000 Gauss-Krueger zone.
    formats : tuple of {"gpkg", "shp"}
    encoding : str
        Shapefile attribute encoding, written to each ``.cpg`` (``GBK`` default; ``GB18030``, ``UTF-8``).

    Returns
    -------
    list of ExportedLayer
        The layers written (``fields.csv`` and ``README.txt`` are written beside them).

    Raises
    ------
    CRSError, DataSourceError, TwinstarError
        Bad CRS, a text the encoding cannot hold, an unknown format.
    """
    from .folder import read_run

    root = Path(run_dir)
    read_run(root)
    bad = sorted(set(formats) - set(EXPORT_FORMATS))
    if bad or not formats:
        raise TwinstarError(f"export format(s) {bad or '(none)'}: choose from {', '.join(EXPORT_FORMATS)}.")
    try:
        "赤峰".encode(encoding)
    except (LookupError, UnicodeEncodeError):
        raise TwinstarError(f"--encoding {encoding}: not an encoding for Chinese text; use GBK, GB18030 or UTF-8.") from None
    target_crs = resolve_crs(crs)
    out = Path(out_dir) if out_dir is not None else export_folder(root, crs)
    records, rows, gpkgs, worst, taken = [], [], {}, 0.0, set()
    for rel, name, gtype in _run_layers(root):
        gdf, recs, r, k = _export_layer(root, rel, name, gtype, out, target_crs, formats, encoding, taken)
        records += recs
        rows += r
        worst = max(worst, k)
        if "gpkg" in formats:
            gpkgs.setdefault(rel, {})[name] = gdf
    for rel, layers in gpkgs.items():
        write_gpkg(out / "gpkg" / Path(rel).name, layers)
    _export_notes(out, target_crs, formats, encoding, rows, worst)
    log.info("exported %d layers to %s (%s)", len(records), out, target_crs.name)
    return records


def _export_notes(out: Path, crs, formats, encoding, rows, worst) -> None:
    """``fields.csv`` (Shapefile field -> column, Chinese label, unit) and ``README.txt`` of an export."""
    from ..data.io import write_csv

    if "shp" in formats:
        write_csv(out / "fields.csv", pd.DataFrame(rows, columns=["shapefile", "field", "column", "label_zh", "unit",
                                                                  "renamed", "note"]))
    auth = crs.to_authority()
    text = "\n".join([
        "twinstar_gis export",
        f"坐标系 CRS: {crs.name} ({':'.join(auth) if auth else 'no EPSG code'})",
        f"最大长度变形 Largest linear scale error at the layers' vertices: {worst * 1000:.2f} per mille"
        + (" -- more than 1 per mille: choose the Gauss-Krüger zone whose central meridian is nearest the area"
           if worst > 1e-3 else ""),
        f"格式 Formats: {', '.join(formats)}",
        *([f"Shapefile 属性编码 attribute encoding: {encoding} (written in each .cpg); field names longer than 10 "
           "characters are shortened: fields.csv maps every field to its column, Chinese label and unit; "
           "booleans are 1/0; texts longer than 254 bytes are cut (fields.csv says where)."] if "shp" in formats else []),
        "gpkg/: the run's GeoPackages (GeoPackage 1.2) in this CRS, same layer and field names.",
        "Each layer opens styled in QGIS (GeoPackage default styles; a .qml beside each Shapefile).",
    ])
    with atomic_output(out / "README.txt") as tmp:
        tmp.write_text(text + "\n", encoding="utf-8-sig")
