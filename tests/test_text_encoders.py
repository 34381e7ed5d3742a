"""The two report encoders of `clef_nb.text`: the Transformer's output shape, its invariance to padding, its
determinism under a seed, and both encoders trained through the CLIP-style and FG-CLEP-style losses of
`clef_nb.prior_ssl.ReportCLIP` (a few steps on one fixed batch lower the loss)."""
import pytest, torch

from clef_nb.encoder import Net1D, Net1DConfig
from clef_nb.prior_ssl import ReportCLIP, build_prior_method
from clef_nb.text import TEXT_ENCODER, TEXT_ENCODERS, TextEncoder, TransformerTextEncoder, Vocab, build_text_encoder, encode

REPORTS = ['sinus rhythm; normal ecg', 'sinus bradycardia; left axis deviation', 'atrial fibrillation; abnormal ecg',
           'sinus tachycardia; prolonged qt', 'sinus rhythm; 1st degree av block; borderline ecg', 'sinus rhythm; low qrs voltages',
           'atrial fibrillation; left ventricular hypertrophy; abnormal ecg', 'sinus bradycardia; normal ecg']
TINY = Net1DConfig(base_filters=8, ratio=.5, filter_list=(8, 16), m_blocks_list=(1, 1), groups_width=4)


@pytest.fixture(scope='module')
def vocab(): return Vocab.build(REPORTS)


@pytest.mark.parametrize('pool', ['mean', 'cls'])
def test_transformer_shape_and_padding_invariance(vocab, pool):
    torch.manual_seed(0)
    te = TransformerTextEncoder(len(vocab), dim=32, emb=16, layers=2, heads=4, ff=32, pool=pool).eval()
    with torch.no_grad():
        short, long = te(encode(vocab, REPORTS, max_len=24)), te(encode(vocab, REPORTS, max_len=96))
        alone = torch.cat([te(encode(vocab, [r], max_len=40)) for r in REPORTS])
    assert short.shape == (len(REPORTS), 32) and torch.isfinite(short).all()
    torch.testing.assert_close(long, short, atol=1e-5, rtol=1e-5)     # padding tokens do not change the embedding
    torch.testing.assert_close(alone, short, atol=1e-5, rtol=1e-5)    # nor does the rest of the batch
    assert not torch.allclose(short[0], short[2], atol=1e-3)          # different reports embed differently


def test_transformer_padding_gets_no_gradient_and_empty_report_is_finite(vocab):
    torch.manual_seed(0)
    te = TransformerTextEncoder(len(vocab), dim=8, emb=16, heads=2, ff=16, dropout=0.)
    ids = encode(vocab, REPORTS[:2] + [''], max_len=32)
    out = te(ids); assert torch.isfinite(out).all()
    torch.testing.assert_close(out[2], te.head(torch.zeros(16)))      # all padding: the head of the zero vector, as the bag
    out.sum().backward(); assert te.tok.weight.grad[0].abs().sum() == 0


def test_transformer_is_deterministic_under_a_seed(vocab):
    ids = encode(vocab, REPORTS)
    def make(seed): torch.manual_seed(seed); return TransformerTextEncoder(len(vocab), dim=16, emb=16, heads=2)
    a, b, c = make(1), make(1), make(2)
    for p, q in zip(a.state_dict().values(), b.state_dict().values()): assert torch.equal(p, q)
    torch.manual_seed(5); ya = a(ids)                                  # dropout too follows the seed
    torch.manual_seed(5); yb = b(ids)
    assert torch.equal(ya, yb) and not torch.allclose(a.eval()(ids), c.eval()(ids))


def test_builder_names_the_choices(vocab):
    assert TEXT_ENCODER in TEXT_ENCODERS and set(TEXT_ENCODERS) == {'bow', 'transformer'}
    assert isinstance(build_text_encoder('bow', len(vocab)), TextEncoder)
    assert isinstance(build_text_encoder('transformer', len(vocab), layers=1, pool='cls'), TransformerTextEncoder)
    with pytest.raises(ValueError, match='text_encoder must be one of bow, transformer'): build_text_encoder('bert', len(vocab))
    m = ReportCLIP(Net1D(TINY), vocab, 'clip')
    assert type(m.text) is {'bow': TextEncoder, 'transformer': TransformerTextEncoder}[TEXT_ENCODER]


@pytest.mark.parametrize('loss', ['clip', 'fgclep'])
@pytest.mark.parametrize('enc', ['bow', 'transformer'])
def test_both_encoders_learn_through_the_report_losses(vocab, loss, enc):
    torch.set_num_threads(1); torch.manual_seed(0)
    x = torch.randn(len(REPORTS), 1, 256)
    report = encode(vocab, REPORTS)
    model = build_prior_method(loss, Net1D(TINY), type('Side', (), dict(vocab=vocab))(), text_encoder=enc)
    assert type(model.text) is {'bow': TextEncoder, 'transformer': TransformerTextEncoder}[enc]
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(25):
        l = model(x, x, report=report); opt.zero_grad(); l.backward(); opt.step(); losses.append(l.item())
    grads = [p.grad for p in model.text.parameters() if p.grad is not None]
    assert grads and any(g.abs().sum() > 0 for g in grads)
    assert losses[-1] < losses[0]
