"""fastlabel_formats_api: the thin REST client layer over :mod:`fastlabel_formats`.

The drop-in ``Client`` for ``fastlabel.Client`` and the offline fake server are tracked in the
client issue; this package already exists so that the distribution's layout is final. It may
import the core; the core never imports it.
"""
