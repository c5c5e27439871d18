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
    description:
      'Docker engine: unix:///path, tcp://HOST:PORT (TLS from DOCKER_CERT_PATH/DOCKER_TLS_VERIFY), ssh://USER@HOST [default: DOCKER_HOST, then the local socket]',
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

export type RunFlagValues = {
  filter?: string[];
  host?: string;
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
