"""SpinML plugin registering the ``sobel`` sanitizer (an L1 feature).

This module is imported when SpinML discovers plugins, so it stays cheap: the
sanitizer class is registered as a lazy import string, and its config lives in
``config.py``, which imports only pydantic.
"""

from __future__ import annotations

import spinml

from .config import SobelConfig


@spinml.hookimpl
def spinml_register_sanitizers(register):
    register("sobel", "spinml_sobel.sanitizer:Sobel", config=SobelConfig, level=1,
             summary="thresholded Sobel gradient magnitude of the object (L1 feature)")
