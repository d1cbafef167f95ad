"""Model card: test scores (overall, by domain, by length), training curves, the card and the config."""

import pandas as pd
import streamlit as st

from seq2seq.checkpoint import CONFIG_FILE
from seq2seq.evaluate import AGREEMENT_FILE, BUCKETS_FILE, SUMMARY_FILE, domains_table, group_parts
from seq2seq.jsonfiles import read_json, read_jsonl
from seq2seq.snapshots import METRICS_FILE
from seq2seq.viz.curves import length_curve, training_curves
from ui import figures, models, notices, sidebar, widgets
from ui.i18n import t


def group_label(group: str) -> str:
    """agreement.json's groups ("all", "domain: tatoeba", "words: 1-5") in the interface language."""
    kind, value = group_parts(group)
    return t(f"card.group.{kind}", value=value)


settings = sidebar.settings()
folder, translator = settings.folder, settings.translator
st.title("📇 " + t("card.title", name=translator.name))
st.caption(models.attention_label(translator))
st.latex(translator.attention_kind.formula)
widgets.direction_note("card")

try:
    summary, buckets, config = (
        read_json(folder / name) for name in (SUMMARY_FILE, BUCKETS_FILE, CONFIG_FILE)
    )
    agreement = read_json(folder / AGREEMENT_FILE)
except ValueError as exc:
    notices.show_error(t("common.cannot_read_scores", name=translator.name), exc)
    st.stop()

st.header(t("card.test_scores"))
if isinstance(summary, dict):
    with widgets.row():
        widgets.metric("chrF", summary.get("chrf", widgets.MISSING))
        widgets.metric(f"BLEU ({summary.get('bleu_tokenize', '?')})", summary.get("bleu", widgets.MISSING))
        widgets.metric(t("card.sentences"), summary.get("sentences", widgets.MISSING))
        widgets.metric(
            t("card.speed"),
            summary.get("sentences_per_s", widgets.MISSING),
            help=t("card.speed_help", device=summary.get("device", "?")),
        )
    st.caption(t("card.beam", beam=summary.get("beam_size", "?")))
    domains = domains_table({translator.name: summary})
    if not domains.empty:
        st.subheader(t("card.by_domain"))
        st.dataframe(domains, hide_index=True, key="mc_domains")
else:
    st.info(t("card.not_evaluated"))
if buckets:
    st.subheader(t("card.by_length"))
    figures.chart(length_curve({translator.name: buckets}, labels=figures.figure_labels()), "mc_length_curve")
    widgets.show_buckets({translator.name: buckets}, key="mc_buckets")
if isinstance(agreement, dict) and agreement.get("rows"):
    st.subheader(t("card.agreement"))
    st.caption(t("card.agreement_caption"))
    table = pd.DataFrame(
        [{**row, "method": t("translate.method." + row["method"]), "group": group_label(row["group"])}
         for row in agreement["rows"]]
    ).round({"top_match": 2, "rank_correlation": 2}).rename(columns=lambda c: t("card.col." + c))  # fmt: skip
    st.dataframe(table, hide_index=True, key="mc_agreement")

st.header(t("card.training"))
figures.chart(training_curves(read_jsonl(folder / METRICS_FILE), labels=figures.figure_labels()), "mc_curves")
st.header(t("card.card"))
if translator.card.strip():
    st.caption(t("card.card_language"))
    st.markdown(translator.card)  # our own file, written with the checkpoint
else:
    st.info(t("card.no_card"))
st.header(t("card.configuration"))
info = translator.describe()
st.caption(
    t("card.config_caption", parameters=f"{info['parameters']:,}", vocab=info["vocab"], device=info["device"])
)
with st.expander("config.json", expanded=False):
    st.json(config or {}, expanded=2)
