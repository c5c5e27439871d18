import { Flags } from '@oclif/core';
import { defaultEvidenceDir } from '../evidence/home.js';
import { logLevels } from '../log.js';

/** Flags shared by every command that runs a playbook against containers. Data, declared once. */
export const runFlags = {
  filter: Flags.string({
    multiple: true,
    multipleNonGreedy: true,
    helpValue: 'KEY=VALUE',
    description: 'Select containers by Docker filter: ancestor=IMAGE, label=K=V, name=, status=, health= (repeatable)',
    helpGroup: 'TARGET',
  }),
  host: Flags.string({
    multiple: true,
    multipleNonGreedy: true,
    description:
      'Docker engine: unix:///path, tcp://HOST:PORT (TLS from DOCKER_CERT_PATH/DOCKER_TLS_VERIFY), ssh://USER@HOST [default: DOCKER_HOST, DOCKER_CONTEXT, the current context, then the local socket]; repeat for several engines',
    helpGroup: 'ENGINE',
  }),
  context: Flags.string({
    multiple: true,
    multipleNonGreedy: true,
    description:
      'Docker context (docker context ls), before --host and DOCKER_HOST as for docker; repeat for several engines',
    helpGroup: 'ENGINE',
  }),
  fleet: Flags.string({
    helpValue: 'FILE',
    description: 'YAML file of engines (name, context or host, labels) to act on; see `firebreak fleet schema`',
    helpGroup: 'ENGINE',
  }),
  select: Flags.string({
    multiple: true,
    multipleNonGreedy: true,
    helpValue: 'KEY=VALUE',
    description: 'Only the --fleet engines with this label (repeatable: all must match)',
    helpGroup: 'ENGINE',
  }),
  engines: Flags.integer({
    default: 4,
    min: 1,
    max: 64,
    description: 'Engines worked on at once in a fleet run (--concurrency stays per engine)',
    helpGroup: 'ENGINE',
  }),
  'evidence-dir': Flags.string({
    env: 'FIREBREAK_EVIDENCE_DIR',
    default: async () => defaultEvidenceDir(),
    defaultHelp: async () =>
      '$FIREBREAK_EVIDENCE_DIR, else $XDG_STATE_HOME/firebreak/evidence, else ~/.local/state/firebreak/evidence',
    description: 'Folder for evidence bundles (created 0700)',
    helpGroup: 'EVIDENCE',
  }),
  incident: Flags.string({ description: 'Incident id that groups runs [default: a new id]', helpGroup: 'EVIDENCE' }),
  compression: Flags.string({
    options: ['gzip', 'none'],
    default: 'gzip',
    description: 'Bundle compression: gzip (.tar.gz) or none (.tar, fastest for large exports)',
    helpGroup: 'EVIDENCE',
  }),
  sign: Flags.string({
    env: 'FIREBREAK_SIGNING_KEY',
    helpValue: 'KEYFILE',
    description:
      'Sign the bundle with this OpenSSH ed25519 private key (unencrypted): writes <bundle>.sig, checked by `ssh-keygen -Y verify -n firebreak`',
    helpGroup: 'EVIDENCE',
  }),
  'sign-identity': Flags.string({
    description: 'Signer identity recorded in bag-info.txt [default: the key comment, else the operator]',
    helpGroup: 'EVIDENCE',
  }),
  'dry-run': Flags.boolean({ description: 'Print the plan for each target and change nothing' }),
  yes: Flags.boolean({ char: 'y', description: 'Do not ask for confirmation (prompts only ever appear on a TTY)' }),
  concurrency: Flags.integer({ default: 8, min: 1, max: 64, description: 'Targets worked on at once' }),
  'log-level': Flags.string({
    options: logLevels,
    default: 'info',
    description: 'Journal level; debug and trace also log to stderr',
  }),
};

/**
 * For commands that work on one engine at a time (recover, watch, drill, doctor, incident show):
 * the same choice as runFlags, taken once. A fleet of watchers is one watch per engine.
 */
export const oneEngineFlags = {
  host: Flags.string({
    description:
      'Docker engine: unix:///path, tcp://HOST:PORT, ssh://USER@HOST [default: DOCKER_HOST, DOCKER_CONTEXT, the current context, then the local socket]',
    helpGroup: 'ENGINE',
  }),
  context: Flags.string({
    description: 'Docker context (docker context ls), before --host and DOCKER_HOST as for docker',
    helpGroup: 'ENGINE',
    exclusive: ['host'],
  }),
};

export type RunFlagValues = {
  filter?: string[];
  host?: string[];
  context?: string[];
  fleet?: string;
  select?: string[];
  engines: number;
  'evidence-dir': string;
  incident?: string;
  compression: string;
  sign?: string;
  'sign-identity'?: string;
  'dry-run': boolean;
  yes: boolean;
  concurrency: number;
  'log-level': string;
};
