"""Home: what the app shows, the lecture's equations, a translation with its heatmap, and the six steps."""

import streamlit as st

import app_ui as ui
from seq2seq import analysis, viz, word_attention
from seq2seq.evaluate import BUCKETS_FILE

settings = ui.page("Home", "🧭")
translator = settings.translator

st.title("🧭 Seq2Seq Attention Explorer")
st.markdown(
    "An RNN **encoder-decoder with Bahdanau (additive) attention** translating English software documentation "
    "into Korean. Type a sentence and watch, step by step, *where the decoder looks* while it writes each "
    "Korean token. The pages follow the lecture **Seq2Seq with Attention**; the sections below walk through "
    "its six steps with live examples from the loaded models."
)

left, right = st.columns([3, 2], gap="large")
with right:
    st.subheader("Attention in three equations")
    st.caption("At decoder step i, for every encoder output h_j:")
    st.latex(r"e_{ij} = a(s_{i-1}, h_j) = v^\top \tanh(W s_{i-1} + U h_j)")
    st.caption("energy: how well h_j fits what the decoder needs now (s_{i-1} is its previous hidden state)")
    st.latex(r"\alpha_{ij} = \frac{\exp(e_{ij})}{\sum_k \exp(e_{ik})}")
    st.caption("weight: a softmax over the source positions, so the weights sum to 1")
    st.latex(r"c_i = \sum_j \alpha_{ij} h_j")
    st.caption("context: the weighted sum, the decoder's input at step i")
with left:
    text = ui.sentence_input()
    result = ui.translate(settings, text)
    if result is not None:
        ui.show_warnings(result.warnings)
        st.caption("Translation")
        ui.big_text(result.text)
        st.caption(
            f"{translator.name} · model time {result.elapsed_ms:.0f} ms · "
            f"beam {settings.beam_size} · {len(result.src_tokens)} → {len(result.tgt_tokens)} tokens"
        )

if result is not None:
    if result.attention is not None:
        st.plotly_chart(
            viz.attention_heatmap(result.attention, result.src_tokens, result.tgt_tokens), key="home_heatmap"
        )
        st.caption("Hover a cell: source token, target token and α. Each row sums to 1.")
    else:
        st.info(ui.NO_ATTENTION)

st.subheader("Explore")
links = st.columns(6)
for column, (path, label, icon) in zip(
    links,
    [
        ("pages/1_Translate.py", "Translate", "🔤"),
        ("pages/2_Step_through.py", "Step through", "👣"),
        ("pages/3_Beam_search.py", "Beam search", "🌳"),
        ("pages/4_Compare.py", "Compare", "⚖️"),
        ("pages/5_Error_analysis.py", "Error analysis", "🔍"),
        ("pages/6_Model_card.py", "Model card", "📇"),
    ],
):
    with column:
        st.page_link(path, label=label, icon=icon)

st.header("The lecture in six steps")
st.caption("Open the steps in order to present them; each one uses the sentence above.")

words = None
if result is not None and result.attention is not None:
    words = word_attention(result)

with st.expander("1 · Word order differs between languages", expanded=True):
    st.markdown(
        "English puts the verb in the middle; Korean puts it at the end, so word-by-word translation "
        "fails. The attention model's alignment shows the reordering:"
    )
    if words is None:
        st.info("Load a checkpoint with attention and translate a sentence to see the alignment.")
    else:
        table = analysis.alignment(words)
        st.dataframe(table, hide_index=True, key="home_alignment")
        if len(table):
            last = table.iloc[-1]
            st.markdown(
                f"The Korean sentence ends with **{analysis.markdown_text(last['target word'])}**, which draws "
                f"most on the English **{analysis.markdown_text(last['attends most to'])}**, word "
                f"{last['source position']} of {len(words.src_words) - 1}: the verb has moved to the end."
            )

with st.expander("2 · Words do not map one to one"):
    st.markdown(
        '"How / are / you ?" is three words in English and "잘 / 지내 ?" two in Korean. '
        "Here are the counts for the sentence above:"
    )
    if result is not None:
        st.dataframe(analysis.length_counts(result), hide_index=True, key="home_lengths")
        st.text("English: " + " / ".join(result.source.split()))
        st.text("Korean:  " + " / ".join(result.text.split()))

with st.expander("3 · The encoder-decoder handles both"):
    cfg = translator.model.cfg
    st.markdown(
        f"The **encoder** (a bidirectional {cfg.encoder_rnn.upper()}) reads the whole source and writes one "
        f"annotation h_j of size {2 * cfg.hidden_size} per source token. The **decoder** then writes the target "
        "one token at a time, at its own length and in its own order, until it emits `</s>`."
    )
    st.latex(
        r"h_j = [\overrightarrow{h}_j ; \overleftarrow{h}_j], \qquad "
        r"s_i = f(s_{i-1}, y_{i-1}, c_i), \qquad p(y_i \mid y_{<i}, x) = g(s_i, c_i)"
    )
    if result is not None:
        st.caption(
            f"For the sentence above: {len(result.src_tokens)} source tokens in, "
            f"{len(result.tgt_tokens)} target tokens out."
        )

with st.expander("4 · The weakness: one fixed-size context vector"):
    st.markdown(
        "Without attention, that single vector must hold everything about the sentence, so quality "
        "drops, above all on long sentences. The test split scored by source length:"
    )
    attn_model, fixed_model = ui.models_by_attention(settings.checkpoints)
    curves = {}
    for folder in (attn_model, fixed_model):
        if folder is not None:
            try:
                buckets = analysis.read_json(folder / BUCKETS_FILE)
            except ValueError as exc:
                ui.show_error(f"Cannot read the scores of {folder.name}", exc)
                buckets = None
            if buckets:
                curves[folder.name] = buckets
    if len(curves) == 2:
        st.plotly_chart(viz.length_curve(curves), key="home_length_curve")
        st.page_link("pages/4_Compare.py", label="Compare the two models on your own sentence", icon="⚖️")
    else:
        st.info(
            "This needs an evaluated attention model and an evaluated fixed-context model "
            "(eval_buckets.json in both checkpoint folders)."
        )

with st.expander("5 · Attention removes the bottleneck"):
    st.markdown(
        "At every step the decoder scores each encoder output (energy e), turns the scores into "
        "weights with a softmax (α) and feeds their weighted sum (c) to the decoder."
    )
    if result is not None and result.attention is not None:
        try:
            session = translator.start(result.source)
            session.run(settings.max_len)
            steps = [s for s in session.steps if not s.is_eos]
            if steps:
                last = steps[-1]
                token = session.pieces([last.token])[0]
                st.markdown(
                    f"The numbers at step {last.index + 1}, which wrote **{analysis.markdown_text(token)}**:"
                )
                for line in analysis.step_equations(last, session.src_tokens):
                    st.latex(line)
        except ValueError as exc:
            ui.show_error("Cannot step through this sentence", exc)
    st.page_link(
        "pages/2_Step_through.py", label="Step through it yourself: e, α and c at every step", icon="👣"
    )

with st.expander("6 · Visualisation"):
    st.markdown(
        "The weights α_ij drawn as a heatmap show which source words each output word drew on. "
        "Here at word level (source pieces summed, target pieces averaged):"
    )
    if words is not None:
        st.plotly_chart(
            viz.attention_heatmap(
                words.matrix, words.src_words, words.tgt_words, title="Word-level attention"
            ),
            key="home_word_heatmap",
        )
    else:
        st.info("A fixed-context model has no weights to draw.")
