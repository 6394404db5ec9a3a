"""Planning analyses of the Twin Star strategy.

* :mod:`.suitability` construction suitability (城镇建设适宜性, 双评价 style);
* :mod:`.sites` joint-park site finder (毗邻地区合作共建园区);
* :mod:`.linkage` twin-city gravity linkage (城市联系强度);
* :mod:`.fca` two-step floating catchment access to facilities (产城融合);
* :mod:`.outputs` writes the ``planning/`` files of a run.

Maths lives in pure functions on arrays and tables; travel times come from the
one travel-time model through :mod:`._times`.
"""

from ..errors import PlanningError
from ..settings import DEFAULT_PLANNING, PlanningSettings

__all__ = ["DEFAULT_PLANNING", "PlanningError", "PlanningSettings"]
