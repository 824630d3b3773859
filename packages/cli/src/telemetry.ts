import { trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

/** A registered tracer provider; `shutdown` flushes the spans still buffered. */
export interface Telemetry {
  shutdown(): Promise<void>;
}

/**
 * Registers an OpenTelemetry trace SDK that exports OTLP over HTTP (JSON) when
 * `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set
 * (and `OTEL_SDK_DISABLED` is not `true`). Without them the runtime's spans stay
 * no-ops. The exporter reads the other standard OTEL_* variables itself
 * (headers, timeout); the service name defaults to `spine`.
 */
export function startTelemetry(env: NodeJS.ProcessEnv = process.env): Telemetry | undefined {
  if (env.OTEL_SDK_DISABLED === 'true') return undefined;
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT && !env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return undefined;
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: env.OTEL_SERVICE_NAME || 'spine', [ATTR_SERVICE_VERSION]: '0.1.0' }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter(), { scheduledDelayMillis: 500 })],
  });
  trace.setGlobalTracerProvider(provider);
  return {
    async shutdown() {
      try {
        await provider.shutdown();
      } catch (error) {
        process.stderr.write(`spine: could not export traces: ${(error as Error).message}\n`);
      }
    },
  };
}
