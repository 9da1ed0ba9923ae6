"""Built-in privacy metrics (``mi``, ``similarity``), embedders (``hog``, ``clip``) and the
``measure`` stage. Importing this package is cheap; implementations load on first use."""

from __future__ import annotations

import spinml
from spinml.hookspecs import Register

from .config import ClipConfig, HogConfig, MeasureConfig, MIConfig, SimilarityConfig


@spinml.hookimpl
def spinml_register_metrics(register: Register) -> None:
    register("mi", "spinml_metrics.mi:MutualInformation", config=MIConfig,
             summary="normalised mutual information of shared artifacts and private objects "
                     "(variants artifact and corrected)")
    register("similarity", "spinml_metrics.similarity:Similarity", config=SimilarityConfig,
             summary="mean cosine similarity of synthetic and private segments, with floor "
                     "and ceiling")


@spinml.hookimpl
def spinml_register_embedders(register: Register) -> None:
    register("hog", "spinml_metrics.embedders:HogEmbedder", config=HogConfig,
             summary="weight-free: HOG of the gray image plus an RGB colour histogram")
    register("clip", "spinml_metrics.embedders:ClipEmbedder", config=ClipConfig,
             summary="CLIP image embeddings through transformers (local directory or cached hub id)")


@spinml.hookimpl
def spinml_register_stages(register: Register) -> None:
    register("measure", "spinml_metrics.stage:MeasureStage", config=MeasureConfig,
             summary="run privacy metrics; writes leakage (measurements.json)",
             inputs=("references", "segmentation", "payload"), optional_inputs=("synthetic",),
             outputs=("leakage",))
