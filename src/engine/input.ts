import { UsageError } from '../errors.js';
import type { LoadedStep } from './playbook.js';
import { renderTemplates, type TemplateScope } from './template.js';

/** Fill in a step's templates and check the result against its type's input schema. */
export function resolveInput(step: LoadedStep, scope: TemplateScope): unknown {
  const rendered = renderTemplates(step.with, scope);
  const result = step.type!.input.safeParse(rendered);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const at = issue.path.length ? `.${issue.path.join('.')}` : '';
    throw new UsageError(`${step.yamlPath}.with${at} (${step.uses}): ${issue.message}`);
  }
  return result.data;
}
