/**
 * One row of each raw table of the `aoma` schema, as the demo generator and the ingests write it
 * (timestamps as ISO strings). Column names are the table's; see supabase/migrations for meaning.
 */
export interface RepositoryRow {
  repo: string;
  is_service: boolean;
  default_branch: string;
  description: string | null;
}
export interface JiraIssueRow {
  issue_key: string;
  project: string;
  issue_type: string;
  priority: string | null;
  status: string;
  components: string[];
  labels: string[];
  summary: string | null;
  created_at: string;
  resolved_at: string | null;
  updated_at: string | null;
  /** the source payload as received */
  raw: unknown;
}
export interface GitCommitRow {
  repo: string;
  sha: string;
  author_name: string | null;
  author_email: string | null;
  authored_at: string;
  author_tz: string | null;
  committer_name: string | null;
  committer_email: string | null;
  committed_at: string;
  committer_tz: string | null;
  files_changed: number;
  insertions: number;
  deletions: number;
  is_merge: boolean;
  parents: string[];
  message: string | null;
}
export interface DeploymentRow {
  deployment_id: string;
  repo: string | null;
  environment: string;
  ref: string | null;
  sha: string | null;
  deployed_at: string;
  status: "succeeded" | "failed" | "rolled_back";
  raw: Record<string, unknown> | null;
}
export interface MessageTemplateRow {
  template_id: string;
  template: string;
  first_seen: string | null;
  last_seen: string | null;
  occurrences: number;
}
export interface LogEventRow {
  source: string;
  event_key: string;
  ts: string;
  level: "TRACE" | "DEBUG" | "INFO" | "WARN" | "ERROR" | "FATAL";
  service: string | null;
  host: string | null;
  template_id: string | null;
  message: string | null;
  params: string[] | null;
}
export interface SystemMetricRow {
  source: string;
  timestamp: string;
  asset_volume: number | null;
  processing_time: number | null;
  error_count: number | null;
  performance_score: number | null;
}
export interface ProcessingAttemptRow {
  attempt_id: string;
  asset_id: string;
  asset_type: string;
  uploaded_at: string | null;
  migration_state: "legacy" | "migrating" | "migrated" | null;
  started_at: string;
  finished_at: string | null;
  status: "succeeded" | "failed";
  error_template_id: string | null;
  error_message: string | null;
}
export interface IncidentRow {
  incident_key: string;
  started_at: string;
  resolved_at: string | null;
  severity: "critical" | "major" | "minor";
  service: string | null;
  summary: string | null;
  source: string;
  jira_key: string | null;
}
