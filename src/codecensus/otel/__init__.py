"""Claude Code OpenTelemetry: an OTLP/HTTP JSON receiver (``codecensus otel serve``) and
import of exported OTLP JSON (``codecensus otel import``). The OTLP → rows conversion is the
``claude_otel`` transcript parser (:mod:`codecensus.sources.otel`)."""
