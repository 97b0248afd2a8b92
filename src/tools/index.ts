/**
 * Every MCP tool of the server, in the order tools/list shows them. Add a tool by writing
 * src/tools/<tool>.ts (definition + handler) and listing it here.
 */
import { analyzeCorrelations } from "./analyze_correlations.ts";
import { analyzeFailurePatterns } from "./analyze_failure_patterns.ts";
import { buildPredictiveModel } from "./build_predictive_model.ts";
import { createAnomalyDetection } from "./create_anomaly_detection.ts";
import { generateForecasts } from "./generate_forecasts.ts";
import { performRootCauseAnalysis } from "./perform_root_cause_analysis.ts";
import type { Tool } from "./types.ts";

export const TOOLS: readonly Tool[] = [
  analyzeCorrelations as unknown as Tool, generateForecasts as unknown as Tool,
  buildPredictiveModel as unknown as Tool, performRootCauseAnalysis as unknown as Tool,
  createAnomalyDetection as unknown as Tool, analyzeFailurePatterns as unknown as Tool,
];
