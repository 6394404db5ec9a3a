"""The run folder: staged, recorded in its manifest, swapped into place.

* :mod:`.folder` staging, the manifest (``run.json``), integrity checks, the swap;
* :mod:`.outputs` the files each analysis step writes into a run;
* :mod:`.brief` the planning brief, rendered from a run's files only.
"""
