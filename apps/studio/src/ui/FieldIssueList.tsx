/** A field error the server named: where (a path in the submitted JSON) and what is wrong. */
export interface FieldIssue {
  path: string;
  message: string;
}

/** The fields a refused submission got wrong, one per line, path first. */
export function FieldIssueList({ issues }: { issues: readonly FieldIssue[] }) {
  return (
    <ul>
      {issues.map((i) => (
        <li key={i.path + i.message}>
          <code>{i.path}</code>: {i.message}
        </li>
      ))}
    </ul>
  );
}
