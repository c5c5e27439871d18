import { UsageError } from '../../errors.js';
import { builtInNames, loadPlaybook } from '../loader.js';
import type { DrillPlan } from './run.js';
import { defaultScenarioOf, loadAllScenarios, loadScenario, prepareOf, scenarioNames } from './scenario.js';

/**
 * Which scenario, prepare playbook and params a playbook is drilled with: the scenario named, or
 * the one whose `drills` lists the playbook; params from that entry, then from the command line.
 * Every scenario is checked first, so a bad one is exit 2 before anything is created.
 */
export function planDrill(
  reference: string,
  options: { scenario?: string; params: Record<string, unknown> },
): DrillPlan {
  const playbook = loadPlaybook(reference);
  const scenarios = loadAllScenarios();
  const claimed = defaultScenarioOf(playbook.name, scenarios);
  const scenario = options.scenario ? loadScenario(options.scenario) : claimed?.scenario;
  if (!scenario) {
    throw new UsageError(
      `playbook ${playbook.name} has no default scenario: give one with --scenario (${scenarioNames().join(', ')}) or list the playbook under drills: in a scenario`,
    );
  }
  const defaults = scenario.drills[playbook.name] ?? (options.scenario ? undefined : claimed?.defaults);
  const prepare = prepareOf(defaults);
  return {
    playbook,
    params: { ...(defaults?.params ?? {}), ...options.params },
    scenario,
    ...(prepare ? { prepare: { playbook: loadPlaybook(prepare.playbook), params: prepare.params } } : {}),
  };
}

/** `drill --all`: every built-in playbook against its default scenario. */
export function planAllDrills(params: Record<string, unknown>): DrillPlan[] {
  return builtInNames().map((name) => planDrill(name, { params }));
}
