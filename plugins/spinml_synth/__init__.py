"""Weight-free generators: level-aware cut-and-paste and the public-pool baseline.

Importing this module is cheap; the implementations (numpy, OpenCV) are imported
only when a generator is created.
"""

from __future__ import annotations

import spinml

from .config import CutPasteConfig, PublicPoolConfig


@spinml.hookimpl
def spinml_register_generators(register: spinml.hookspecs.Register) -> None:
    register("cutpaste", "spinml_synth.cutpaste:CutPaste", config=CutPasteConfig,
             summary="shared target (L2 pixels, L1 edges rendered, L0 public images) "
                     "augmented and pasted on backgrounds; exact boxes", weights=False)
    register("public-pool", "spinml_synth.cutpaste:PublicPool", config=PublicPoolConfig,
             summary="public images of each label, ignoring the payload (L0 baseline)",
             weights=False)
