"The committed CPU-scale run (results/cpu): a current, synthetic, duplicate-free store whose every stored cell was timed, and whose paired differences belong to evaluated cells."
from pathlib import Path
import pandas as pd, pytest
from clef_nb.results import KEY, load_results

RUN = Path(__file__).resolve().parents[1]/'results'/'cpu'
pytestmark = pytest.mark.skipif(not (RUN/'results.csv').is_file(), reason='no committed cpu run')


def test_the_store_is_current_synthetic_and_duplicate_free():
    df = load_results(RUN/'results.csv')                   # refuses a store of another version or column set
    assert len(df) and df.synthetic.all() and not df.duplicated(KEY).any()
    ok = df.ci_low.notna() & df.ci_high.notna()
    assert (df.ci_low[ok] <= df.ci_high[ok]).all()


def test_every_stored_cell_was_timed_and_every_difference_has_its_cells():
    df, timing = load_results(RUN/'results.csv'), pd.read_csv(RUN/'timing.csv')
    assert set(df.cell) <= set(timing.key)
    assert (timing.seconds >= 0).all() and (timing.cpu_seconds >= 0).all() and not timing.key.duplicated().any()
    diffs = df[df.vs != '']
    assert set(diffs.model) <= set(df[df.vs == ''].model) and set(diffs.vs) <= set(df[df.vs == ''].model)
