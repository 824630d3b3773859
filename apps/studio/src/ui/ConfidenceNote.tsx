/** Why a low-risk action is in the inbox: its agent declared a confidence under the state's threshold. */
export function ConfidenceNote({ rationale }: { rationale: unknown }) {
  const escalated = (rationale as { escalated?: { confidence: number | null; minConfidence: number; confidenceFrom: string } } | null)?.escalated;
  if (!escalated) return null;
  return (
    <p data-testid="confidence-note">
      <span className="badge">low confidence</span> the agent declared {escalated.confidence === null ? 'no confidence' : `confidence ${escalated.confidence}`} ({escalated.confidenceFrom}), under
      this state&apos;s threshold of {escalated.minConfidence}: a low-risk action sent for review instead of running.
    </p>
  );
}
