import { spineIdGenerator } from '@spine/runtime';

/** A started trace SDK; `shutdown` flushes the spans still buffered. */
export interface Telemetry {
  shutdown(): Promise<void>;
}

/**
 * Starts OpenTelemetry's Node SDK for traces when `OTEL_EXPORTER_OTLP_ENDPOINT` or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (and `OTEL_SDK_DISABLED` is not `true`); without
 * them the runtime's spans stay no-ops. Everything else is the SDK's own environment handling:
 * `OTEL_EXPORTER_OTLP_PROTOCOL` (`http/protobuf` by default, `http/json`, `grpc`),
 * `OTEL_TRACES_EXPORTER`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_SERVICE_NAME` (default `spine`),
 * headers, timeouts, the batch processor and the sampler. Span ids come from
 * `spineIdGenerator`, so a run's spans nest under its exported `spine.run` span.
 */
export async function startTelemetry(env: NodeJS.ProcessEnv = process.env): Promise<Telemetry | undefined> {
  if (env.OTEL_SDK_DISABLED === 'true') return undefined;
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT && !env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return undefined;
  // Loaded only when asked for: the SDK with its exporters takes a while to import.
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const named = Boolean(env.OTEL_SERVICE_NAME) || /(^|,)\s*service\.name\s*=/.test(env.OTEL_RESOURCE_ATTRIBUTES ?? '');
  const sdk = new NodeSDK({
    ...(named ? {} : { serviceName: 'spine' }),
    idGenerator: spineIdGenerator,
    instrumentations: [],
    // Spine makes spans only: no metric readers or log processors from the environment's defaults.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  return {
    async shutdown() {
      try {
        await sdk.shutdown();
      } catch (error) {
        process.stderr.write(`spine: could not export traces: ${(error as Error).message}\n`);
      }
    },
  };
}
