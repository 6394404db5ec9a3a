"""The travel-time model held against published travel facts (timetables, road distances, drive times).

A *facts file* (CSV, UTF-8) lists travel facts between places, parks or stations of the
dataset: the embedded one is ``data/curated/travel_facts.csv`` (12306 timetable times,
published road distances, line lengths, each with its source, date, strength and
accuracy); a planner's project can point to its own file with their surveyed or timetable
times (:func:`read_travel_facts` checks it).  :func:`validate_travel_times` puts the
model's number next to each fact, like with like:

* **rail / hsr minutes** -- a timetable time runs platform to platform (departure to
  arrival).  The model's *in-vehicle* time is compared: the quickest time over the
  network's rail edges of the fact's class (``railway`` for ``rail``, ``high_speed_rail``
  for ``hsr``) between the line points the two stations are attached to.
  The model's door-to-door time (``model_door_minutes``: boarding and alighting minutes of
  ``speeds.transfer_min`` included, any mode) is reported beside it, not compared.
* **road minutes** -- the model's quickest time between the two ids with every rail node
  removed from the graph (road network plus the land surface, as the run's "by road"
  figures).
* **km** (a fact without minutes) -- the model's shortest route length: over road and link
  edges for road facts, over rail edges for rail facts (the network's edge lengths already
  carry each corridor's ``route_factor``).

``model_fact_ratio = model / fact``; the target band is 0.85-1.15 (issue 19).  An ``upper`` bound fact
("under two hours") agrees when the ratio is at most 1.15.  Facts marked ``calibration`` were
used to derive a model parameter (an operating speed, a route factor): their ratio is near 1 by
construction and is not independent evidence -- the table says so in ``note``.

Examples
--------
>>> import tempfile
>>> from twinstar_gis.data.dataset import build_dataset, load_dataset
>>> from twinstar_gis.model.traveltime import build_model
>>> from twinstar_gis.settings import DEFAULT
>>> ds = load_dataset(build_dataset(tempfile.mkdtemp())[0])
>>> model = build_model(ds.layers, dem_path=ds.dem_path, settings=DEFAULT.override(**{"access.resolution_m": 4000}))
>>> table = validate_travel_times(model)
>>> table.loc[table["fact_id"] == "T01", ["from", "to", "mode", "fact_minutes"]].to_dict("records")
[{'from': 'N_TONGLIAO', 'to': 'N_KAILU', 'mode': 'rail', 'fact_minutes': 76.0}]
>>> s = summarize_validation(table)
>>> s["facts"] == len(table), 0 < s["independent"] < s["compared"]
(True, True)
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from ..data.dataset import curated_dir
from ..errors import AccessError, ValidationError
from .traveltime import model_variant, od_matrix

__all__ = [
    "BAND",
    "FACTS_FILE",
    "FACT_COLUMNS",
    "MODES",
    "VALIDATION_COLUMNS",
    "read_travel_facts",
    "summarize_validation",
    "validate_travel_times",
]

log = logging.getLogger(__name__)

#: The embedded facts file (in ``data/curated``).
FACTS_FILE = "travel_facts.csv"
#: Columns a facts file must have; ``minutes`` and / or ``km`` give the fact.
FACT_COLUMNS = ("fact_id", "from_id", "to_id", "mode")
#: Optional columns, used when present.
OPTIONAL_COLUMNS = ("from_name", "to_name", "minutes", "km", "bound", "basis", "source", "source_date", "strength",
                    "accuracy_min", "accuracy_km", "role", "notes")
#: Modes of a fact.
MODES = ("hsr", "rail", "road")
#: Target band of model / fact (issue 19).
BAND = (0.85, 1.15)
#: Columns of the validation table (the CSV contract of ``access/validation.csv``).
VALIDATION_COLUMNS = ("fact_id", "from", "to", "from_name", "to_name", "mode", "compared", "fact_minutes", "model_minutes",
                      "fact_km", "model_km", "model_fact_ratio", "within_band", "model_door_minutes", "bound", "role",
                      "source_strength",
                      "source", "note")
_RAIL = ("hsr", "rail")
#: Corridor class of the rail edges a fact of each mode is measured on.
_RAIL_CLASS = {"hsr": "high_speed_rail", "rail": "railway"}


# --------------------------------------------------------------------------
# The facts file
# --------------------------------------------------------------------------

def read_travel_facts(path=None) -> pd.DataFrame:
    """Read and check a travel-facts CSV (the embedded one by default).

    Parameters
    ----------
    path : path-like, optional
        A planner's facts file (UTF-8 CSV with :data:`FACT_COLUMNS`, ``minutes`` and / or
        ``km``, and any of :data:`OPTIONAL_COLUMNS`).  Default: the embedded
        ``data/curated/travel_facts.csv``.

    Returns
    -------
    pandas.DataFrame
        One row per fact; ``minutes`` and ``km`` as floats (NaN where not given), missing
        optional columns added empty.

    Raises
    ------
    ValidationError
        Every problem at once, naming the file and the fact ids: a missing required column,
        a duplicate or empty ``fact_id``, an unknown ``mode``, a fact with neither minutes
        nor km, a non-numeric, zero or negative value, an unknown ``bound``.

    Examples
    --------
    >>> facts = read_travel_facts()
    >>> t01 = facts.set_index("fact_id").loc["T01"]
    >>> t01["from_id"], t01["to_id"], t01["mode"], float(t01["minutes"])
    ('N_TONGLIAO', 'N_KAILU', 'rail', 76.0)
    """
    path = Path(path) if path is not None else curated_dir() / FACTS_FILE
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError:
        raise ValidationError(f"{path}: travel-facts file not found; give a CSV with columns "
                              f"{', '.join(FACT_COLUMNS)} and minutes and/or km") from None
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ValidationError(f"{path}: not a UTF-8 CSV file ({exc}); save it as CSV UTF-8") from None
    missing = [c for c in FACT_COLUMNS if c not in raw.columns]
    if missing:
        raise ValidationError(f"{path}: missing column(s) {missing}; a facts file needs {', '.join(FACT_COLUMNS)} "
                              "and minutes and/or km")
    facts = raw.copy()
    for col in OPTIONAL_COLUMNS:
        if col not in facts.columns:
            facts[col] = ""
    facts = facts.apply(lambda s: s.str.strip())
    problems = _fact_problems(facts, path)
    if problems:
        raise ValidationError(problems)
    for col in ("minutes", "km", "accuracy_min", "accuracy_km"):
        facts[col] = pd.to_numeric(facts[col], errors="coerce")  # "" (not given) becomes NaN
    facts.attrs["source_file"] = str(path)
    return facts


def _fact_problems(facts: pd.DataFrame, path) -> list[str]:
    ids = facts["fact_id"]
    probs = []
    if (ids == "").any():
        probs.append(f"{path}: {int((ids == '').sum())} row(s) without fact_id (rows {list(np.flatnonzero(ids == '') + 2)})")
    dup = ids[ids.duplicated(keep=False) & (ids != "")].unique()
    if len(dup):
        probs.append(f"{path}: duplicate fact_id {list(dup)}; each fact needs its own id")
    bad_mode = ~facts["mode"].isin(MODES)
    if bad_mode.any():
        probs.append(f"{path}: unknown mode {sorted(set(facts.loc[bad_mode, 'mode']))} on {list(ids[bad_mode])}; "
                     f"use one of {', '.join(MODES)}")
    for col in ("from_id", "to_id"):
        empty = facts[col] == ""
        if empty.any():
            probs.append(f"{path}: empty {col} on {list(ids[empty])}; give a place_id, park_id or station node_id")
    value = {}
    for col in ("minutes", "km"):
        v = pd.to_numeric(facts[col], errors="coerce")
        bad = (facts[col] != "") & ~(v > 0)
        if bad.any():
            probs.append(f"{path}: {col} must be a positive number; got {list(facts.loc[bad, col])} on {list(ids[bad])}")
        value[col] = v
    neither = value["minutes"].isna() & value["km"].isna() & (facts["minutes"] == "") & (facts["km"] == "")
    if neither.any():
        probs.append(f"{path}: facts {list(ids[neither])} give neither minutes nor km")
    bound = ~facts["bound"].isin(["", "upper", "lower"])
    if bound.any():
        probs.append(f"{path}: bound must be empty, 'upper' or 'lower'; got {list(facts.loc[bound, 'bound'])} on {list(ids[bound])}")
    return probs


# --------------------------------------------------------------------------
# Model quantities
# --------------------------------------------------------------------------

def _model(model_or_result):
    model = getattr(model_or_result, "model", None) or model_or_result
    if getattr(model, "network", None) is None:
        raise AccessError("validate_travel_times needs a TravelTimeModel built with a network (or an AccessResult "
                          "that holds one); a surface-only model has no stations or roads to compare")
    return model


def _edge_graph(edges: pd.DataFrame, n: int, modes, weight: np.ndarray, cls=None):
    """A directed graph of the network edges of ``modes`` (and corridor class ``cls``): ``oneway`` 1 runs u -> v
    only, -1 v -> u only, 0 both ways."""
    e = edges["mode"].isin(modes).to_numpy()
    if cls is not None:
        e = e & (edges["cls"] == cls).to_numpy()
    u, v, w = edges["u"].to_numpy(np.int64)[e], edges["v"].to_numpy(np.int64)[e], np.maximum(weight[e], 1e-9)
    ow = pd.to_numeric(edges["oneway"], errors="coerce").fillna(0).to_numpy(int)[e] if "oneway" in edges.columns \
        else np.zeros(e.sum(), int)
    fwd, back = ow >= 0, ow <= 0
    rows = np.concatenate([u[fwd], v[back]])
    cols = np.concatenate([v[fwd], u[back]])
    data = np.concatenate([w[fwd], w[back]])
    g = csr_matrix((data, (rows, cols)), shape=(n, n))
    g.sum_duplicates()
    return g


def _shortest(graph, sources: dict, targets: dict) -> dict:
    """{(a, b): smallest cost from any node of sources[a] to any node of targets[b]} (NaN if none)."""
    out = {}
    for a, src in sources.items():
        if not len(src):
            continue
        d = np.atleast_2d(dijkstra(graph, directed=True, indices=np.asarray(src, np.int64), min_only=True))[0]
        for b, dst in targets.items():
            if len(dst):
                best = float(np.min(d[np.asarray(dst, np.int64)]))
                out[(a, b)] = best if np.isfinite(best) else np.nan
    return out


def _snaps(net, ids, cls) -> dict:
    """Attachment nodes of each station id on lines of class ``cls`` (the ends of its transfer links)."""
    e = net.edges
    tr = e[(e["mode"] == "transfer") & (e["cls"] == cls)]
    out = {}
    for i in ids:
        node = int(net.place_index[i])
        out[i] = np.unique(np.concatenate([tr.loc[tr["u"] == node, "v"].to_numpy(np.int64),
                                           tr.loc[tr["v"] == node, "u"].to_numpy(np.int64)]))
    return out


def _od(model, pairs) -> dict:
    """The model's own door-to-door minutes (:func:`~twinstar_gis.model.traveltime.od_matrix`) for each pair."""
    ids = sorted({a for a, _ in pairs} | {b for _, b in pairs})
    od = od_matrix(model, ids)
    return {(a, b): float(od.loc[a, b]) for a, b in pairs}


def _road_minutes(model, pairs) -> dict:
    """Model minutes between ids by road and land only (the run's "by road" model: rail left out)."""
    return _od(model_variant(model, rail=False), pairs)


# --------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------

def validate_travel_times(model_or_result, facts=None, *, band: tuple = BAND) -> pd.DataFrame:
    """The model's time (or route length) next to every published fact, with their ratio.

    Parameters
    ----------
    model_or_result : TravelTimeModel or AccessResult
        The model of a run (an :class:`~twinstar_gis.model.traveltime.AccessResult` holds it).
    facts : DataFrame or path-like, optional
        Facts as read by :func:`read_travel_facts`, or a path to a facts file; default the
        embedded ``travel_facts.csv``.
    band : (float, float)
        Agreement band of model / fact.

    Returns
    -------
    pandas.DataFrame
        :data:`VALIDATION_COLUMNS`, one row per fact in file order.  ``compared`` is
        ``minutes`` (when the fact gives minutes) or ``km``; ``model_fact_ratio`` = model / fact of
        that quantity (NaN when the model has no value: unknown id, no route); ``note``
        says why, and flags calibration facts and bounds.

    Raises
    ------
    AccessError
        A model without a network.
    ValidationError
        A bad facts file (see :func:`read_travel_facts`).
    """
    model = _model(model_or_result)
    facts = facts if isinstance(facts, pd.DataFrame) else read_travel_facts(facts)
    net = model.network
    known = set(net.place_index.index.astype(str))
    stations = set(np.asarray(net.place_index.index)[np.isin(np.asarray(net.kind)[net.place_index.to_numpy()], ["station"])])
    rows = [_row(f) for f in facts.itertuples(index=False)]
    ok = [r for r in rows if _usable(r, known, stations)]
    _fill(model, ok)
    for r in rows:
        r["model_fact_ratio"], r["within_band"] = _ratio(r, band)
        r["note"] = "; ".join(n for n in r.pop("_notes") if n)
    table = pd.DataFrame(rows, columns=list(VALIDATION_COLUMNS))
    n_ok = int(table["model_fact_ratio"].notna().sum())
    log.info("validation: %d of %d facts compared; median ratio %s", n_ok, len(table),
             f"{table['model_fact_ratio'].median():.2f}" if n_ok else "n/a")
    return table


def _row(f) -> dict:
    g = f._asdict()
    notes = []
    if str(g.get("role", "")) == "calibration":
        notes.append("calibration fact: a model parameter was derived from it (not independent)")
    if g.get("bound"):
        notes.append(f"{g['bound']} bound: agrees when the ratio is {'at most' if g['bound'] == 'upper' else 'at least'} "
                     f"{'1.15' if g['bound'] == 'upper' else '0.85'}")
    compared = "minutes" if pd.notna(g.get("minutes")) else "km"
    return {"fact_id": g["fact_id"], "from": g["from_id"], "to": g["to_id"], "from_name": g.get("from_name", ""),
            "to_name": g.get("to_name", ""), "mode": g["mode"], "compared": compared, "fact_minutes": g.get("minutes"),
            "model_minutes": np.nan, "fact_km": g.get("km"), "model_km": np.nan, "model_door_minutes": np.nan,
            "bound": g.get("bound", ""), "role": g.get("role", ""), "source_strength": g.get("strength", ""),
            "source": g.get("source", ""), "_notes": notes}


def _usable(r: dict, known: set, stations: set) -> bool:
    for end in ("from", "to"):
        if r[end] not in known:
            r["_notes"].append(f"{end} id {r[end]} is not a place, park or station of this model")
            return False
        if r["mode"] in _RAIL and r[end] not in stations:
            r["_notes"].append(f"{end} id {r[end]} is not a station: a rail fact needs station ids")
            return False
    return True


def _fill(model, rows: list) -> None:
    """Model minutes / km for every usable row (one Dijkstra per distinct origin and quantity)."""
    net = model.network
    edges = net.edges
    km = edges["km"].to_numpy(float)  # the network's lengths already carry each corridor's route_factor
    rail = [r for r in rows if r["mode"] in _RAIL]
    road = [r for r in rows if r["mode"] == "road"]
    pairs = {(r["from"], r["to"]) for r in rows}
    door = _od(model, pairs) if pairs else {}
    for mode in _RAIL:
        sub = [r for r in rail if r["mode"] == mode]
        if not sub:
            continue
        cls = _RAIL_CLASS[mode]
        snaps = _snaps(net, {r["from"] for r in sub} | {r["to"] for r in sub}, cls)
        src = {a: snaps[a] for a in {r["from"] for r in sub}}
        dst = {b: snaps[b] for b in {r["to"] for r in sub}}
        t = _shortest(_edge_graph(edges, net.n, ("rail",), edges["minutes"].to_numpy(float), cls), src, dst)
        d = _shortest(_edge_graph(edges, net.n, ("rail",), km, cls), src, dst)
        for r in sub:
            key = (r["from"], r["to"])
            r["model_minutes"], r["model_km"] = t.get(key, np.nan), d.get(key, np.nan)
            if not (len(snaps[r["from"]]) and len(snaps[r["to"]])):
                r["_notes"].append(f"a station is not attached to any {cls} line in the model")
            r["_notes"].append(f"{mode}: model in-vehicle minutes on {cls} lines (platform to platform, no dwell) vs timetable")
    if road:
        rp = {(r["from"], r["to"]) for r in road}
        t = _road_minutes(model, rp)
        g = _edge_graph(edges, net.n, ("road", "link"), km)
        d = _shortest(g, {a: [int(net.place_index[a])] for a, _ in rp}, {b: [int(net.place_index[b])] for _, b in rp})
        for r in road:
            key = (r["from"], r["to"])
            r["model_minutes"], r["model_km"] = t.get(key, np.nan), d.get(key, np.nan)
            r["_notes"].append("road: model minutes without rail; km = shortest road route x route_factor")
    for r in rows:
        r["model_door_minutes"] = door.get((r["from"], r["to"]), np.nan)


def _ratio(r: dict, band) -> tuple:
    fact = r["fact_minutes"] if r["compared"] == "minutes" else r["fact_km"]
    model = r["model_minutes"] if r["compared"] == "minutes" else r["model_km"]
    if not (pd.notna(fact) and pd.notna(model) and fact > 0):
        if not any("not a" in n for n in r["_notes"]):
            r["_notes"].append("no route in the model")
        return np.nan, pd.NA
    ratio = round(float(model) / float(fact), 3)
    if r["bound"] == "upper":
        within = ratio <= band[1]
    elif r["bound"] == "lower":
        within = ratio >= band[0]
    else:
        within = band[0] <= ratio <= band[1]
    return ratio, bool(within)


def summarize_validation(table: pd.DataFrame, band: tuple = BAND) -> dict:
    """Headline numbers of a validation table, for the brief.

    Parameters
    ----------
    table : DataFrame
        From :func:`validate_travel_times`.
    band : (float, float)
        Agreement band.

    Returns
    -------
    dict
        ``facts`` (rows), ``compared`` (rows with a ratio), ``independent`` (compared rows
        that are not calibration facts), ``median_ratio`` and ``within_band_share`` (over
        the compared independent, non-bound facts; NaN when there are none), ``worst_fact``
        and ``worst_ratio`` (largest ``|log ratio|`` among them), ``band``.

    Examples
    --------
    >>> t = pd.DataFrame({"fact_id": ["a", "b", "c"], "model_fact_ratio": [0.9, 1.3, 1.0], "role": ["check", "check", "calibration"],
    ...                   "bound": ["", "", ""], "within_band": [True, False, True]})
    >>> s = summarize_validation(t)
    >>> s["median_ratio"], s["worst_fact"], s["within_band_share"]
    (1.1, 'b', 0.5)
    """
    has = table[table["model_fact_ratio"].notna()]
    ind = has[(has["role"] != "calibration") & (has["bound"].fillna("") == "")]
    if len(ind):
        worst = ind.iloc[int(np.argmax(np.abs(np.log(ind["model_fact_ratio"].to_numpy(float)))))]
        med = round(float(ind["model_fact_ratio"].median()), 3)
        share = round(float(ind["within_band"].astype(bool).mean()), 3)
        wf, wr = str(worst["fact_id"]), float(worst["model_fact_ratio"])
    else:
        med = share = wr = np.nan
        wf = ""
    return {"facts": len(table), "compared": len(has), "independent": len(ind), "median_ratio": med,
            "within_band_share": share, "worst_fact": wf, "worst_ratio": wr, "band": tuple(band)}
