"""Planning analyses of the Twin Star strategy.

* :mod:`.suitability` construction suitability (城镇建设适宜性, 双评价 style): slope and
  location-advantage grades, hard constraints, three classes on the run's equal-area grid
  (``construction_suitability``, ``area_by_class``, ``class_polygons``);
* :mod:`.sites` joint-park site finder (毗邻地区合作共建园区): squares of the requested area
  along the two cities' border, scored on balance, corridor access, suitability and distance
  from existing parks, with a weight sensitivity table (``find_sites``);
* :mod:`.linkage` twin-city gravity linkage (城市联系强度) between counties, today and with
  the scenario (``twin_city_linkage``, ``gravity_pairs``);
* :mod:`.fca` two-step floating catchment access to facilities (产城融合)
  (``facility_access``);
* :mod:`.outputs` writes the ``planning/`` files of a run (``write_planning``).

Maths lives in pure functions on arrays and tables; travel times come from the one
travel-time model through :mod:`._times` (minutes, NaN = unreachable, never 0).  Thresholds and weights are :class:`PlanningSettings` (the
``planning`` section of the run's settings); bad input raises :class:`PlanningError`.
"""

from ..errors import PlanningError
from ..settings import DEFAULT_PLANNING, PlanningSettings

__all__ = ["DEFAULT_PLANNING", "PlanningError", "PlanningSettings"]
