import { UsageError } from '../../errors.js';
import { builtInNames, loadPlaybook } from '../loader.js';
import { resolveParams } from '../params.js';
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
  const params = { ...(defaults?.params ?? {}), ...options.params };
  // A param the playbook does not take, or a value it would refuse, is exit 2 before anything is created.
  resolveParams(playbook, params, paramFlagsFor(options.params));
  const prepared = prepare && { playbook: loadPlaybook(prepare.playbook), params: prepare.params };
  if (prepared) resolveParams(prepared.playbook, prepared.params);
  return {
    playbook,
    params,
    scenario,
    ...(prepared ? { prepare: prepared } : {}),
  };
}

/** `drill --all`: every built-in playbook against its default scenario. */
export function planAllDrills(params: Record<string, unknown>): DrillPlan[] {
  return builtInNames().map((name) => planDrill(name, { params }));
}

/** A param given on the command line is named as typed there; one from the scenario as a param. */
function paramFlagsFor(given: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.keys(given).map((name) => [name, `--param ${name}`]));
}
