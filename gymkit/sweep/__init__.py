"""``gymkit sweep``: hyperparameter searches and many-seed runs on Ray Tune.

Ray Tune is the engine (scheduling, resources, retries, clusters); gymkit supplies the
search-space file, the trainable (each trial an ordinary gymkit run directory that resumes
from its checkpoint when Ray retries it) and the choice of the best configuration::

    from gymkit.sweep import run_sweep
    result = run_sweep("q-learning", "FrozenLake-v1", "space.yaml", seeds=2, samples=4)
    result.best_preset          # SWEEP_DIR/best.yaml, for gymkit train --preset

Ray is an optional extra (``pip install 'gymkit[ray]'``); importing this package does not
import it.
"""

from gymkit.sweep.runner import INSTALL_HINT, SweepResult, require_ray, run_sweep
from gymkit.sweep.space import SearchSpace, Variant, load_space, sample_variants

__all__ = ["INSTALL_HINT", "SearchSpace", "SweepResult", "Variant", "load_space", "require_ray",
           "run_sweep", "sample_variants"]
