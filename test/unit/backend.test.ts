/**
 * Backend choice through the backend module's loader seam: the optional packages as the loader finds them
 * (absent, present, present but failing) while TensorFlow.js itself is the real one. A "present"
 * tfjs-node-gpu does what the package does on load: it registers a 'tensorflow' backend on the shared
 * tfjs engine (here TensorFlow.js's own CPU kernels under that name) whose binding reports whether it
 * uses a GPU. Also: auto never chooses a software WebGPU adapter, and the backend list is kept in one place.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { backendPickItems } from '../../client/src/backendPicker';
import { USAGE } from '../../server/src/cli';
import { chooseBackend, describeBackend, parseBackendRequest } from '../../server/src/engine/device/backend';
import type { ModuleLoader } from '../../server/src/engine/device/loader';
import { TFJS_NODE, TFJS_NODE_GPU } from '../../server/src/engine/device/native';
import { adapterInfo, WEBGPU_PACKAGE } from '../../server/src/engine/device/webgpu';
import { tf } from '../../server/src/engine/tf';
import { BACKEND_CHOICES, BACKEND_NAMES } from '../../server/src/protocol';
import { REPO } from '../helpers/cli';

function notFound(specifier: string): Error {
  return Object.assign(new Error(`Cannot find module '${specifier}'`), { code: 'MODULE_NOT_FOUND' });
}

/** No optional package installed. */
const absent: ModuleLoader = (specifier) => {
  throw notFound(specifier);
};

/** tfjs-node-gpu installed and loading; `gpu`: whether its binding found CUDA; `initFails`: its backend cannot start. */
function presentTfjsNodeGpu({ gpu, initFails = false }: { gpu: boolean; initFails?: boolean }): ModuleLoader {
  return (specifier) => {
    if (specifier !== TFJS_NODE_GPU) throw notFound(specifier);
    for (const k of tf.getKernelsForBackend('cpu')) if (!tf.getKernel(k.kernelName, 'tensorflow')) tf.registerKernel({ ...k, backendName: 'tensorflow' });
    const cpu = tf.findBackendFactory('cpu')!;
    tf.registerBackend('tensorflow', async () => {
      if (initFails) throw new Error('Could not create TensorFlow session');
      return Object.assign(await cpu(), { isUsingGpuDevice: gpu });
    });
    return {};
  };
}

/** tfjs-node-gpu installed but its native library does not load (the usual CUDA mismatch). */
const brokenTfjsNodeGpu: ModuleLoader = (specifier) => {
  if (specifier === TFJS_NODE_GPU) throw new Error('libcudart.so.11.0: cannot open shared object file: No such file or directory');
  throw notFound(specifier);
};

afterEach(() => {
  if (tf.findBackendFactory('tensorflow')) tf.removeBackend('tensorflow');
});

test('tfjs-node-gpu absent: forcing it says so; auto falls back and says why', async () => {
  await assert.rejects(chooseBackend('tensorflow-gpu', { load: absent }), new RegExp(`${TFJS_NODE_GPU} is not installed`));
  const info = await chooseBackend('auto', { load: absent });
  assert.ok(info.name === 'wasm' || info.name === 'cpu', info.name);
  assert.match(info.reason, new RegExp(`^fallback: ${TFJS_NODE_GPU} is not installed; .*${TFJS_NODE} is not installed`));
  assert.equal(info.gpu, false);
});

test('tfjs-node-gpu present with a GPU: auto chooses it first, in one thread, and it computes', async () => {
  const info = await chooseBackend('auto', { load: presentTfjsNodeGpu({ gpu: true }) });
  assert.deepEqual(
    { name: info.name, reason: info.reason, gpu: info.gpu, wantsWorkers: info.wantsWorkers },
    { name: 'tensorflow-gpu', reason: 'first choice', gpu: true, wantsWorkers: false },
  );
  assert.equal(tf.getBackend(), 'tensorflow');
  const product = tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([5, 6, 7, 8], [2, 2]));
  assert.deepEqual(Array.from(await product.data()), [19, 22, 43, 50]);
});

test('tfjs-node-gpu present but failing: a native library that does not load, no GPU, a backend that does not start', async () => {
  const cases: [ModuleLoader, RegExp][] = [
    [brokenTfjsNodeGpu, /failed to load: libcudart\.so\.11\.0: cannot open shared object file/],
    [presentTfjsNodeGpu({ gpu: false }), /loaded but sees no GPU/],
    [presentTfjsNodeGpu({ gpu: true, initFails: true }), /backend failed to initialise/],
  ];
  for (const [load, why] of cases) {
    await assert.rejects(chooseBackend('tensorflow-gpu', { load }), why);
    if (tf.findBackendFactory('tensorflow')) tf.removeBackend('tensorflow');
    const info = await chooseBackend('auto', { load });
    assert.notEqual(info.name, 'tensorflow-gpu');
    assert.match(info.reason, why);
    if (tf.findBackendFactory('tensorflow')) tf.removeBackend('tensorflow');
  }
});

test('webgpu absent: forcing it names the missing package', async () => {
  await assert.rejects(chooseBackend('webgpu', { load: absent }), new RegExp(`the ${WEBGPU_PACKAGE} package is not installed`));
});

test('software adapters are recognised: lavapipe, llvmpipe, SwiftShader; hardware ones are not', () => {
  const software = [
    { vendor: 'mesa', architecture: '', device: 'llvmpipe-llvm-15-0-6-256-bits-', description: 'llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)' },
    { vendor: 'google', architecture: 'swiftshader', device: 'SwiftShader Device (Subzero)', description: '' },
    { vendor: 'mesa', architecture: 'software', device: '', description: 'lavapipe' },
  ];
  for (const info of software) assert.equal(adapterInfo({ info }).software, true, JSON.stringify(info));
  const hardware = { vendor: 'nvidia', architecture: 'hopper', device: 'NVIDIA H200', description: 'NVIDIA H200 (Vulkan 1.3)' };
  assert.deepEqual(adapterInfo({ info: hardware }), { ...hardware, software: false });
  assert.equal(adapterInfo({ info: { ...hardware, isFallbackAdapter: true } }).software, true);
});

test('auto never runs on a software adapter; forcing webgpu does, and says so', async () => {
  const auto = await chooseBackend('auto');
  if (auto.name === 'webgpu') assert.equal(auto.adapter?.software, false, describeBackend(auto));
  let forced;
  try {
    forced = await chooseBackend('webgpu');
  } catch (e) {
    console.log(`# no WebGPU adapter here (${(e as Error).message}): the forced half is covered by test/gpu/`);
    return;
  }
  assert.ok(forced.adapter, 'a WebGPU backend reports its adapter');
  assert.equal(forced.reason, 'forced by setting (webgpu)');
  if (forced.adapter.software) {
    assert.match(describeBackend(forced), /a software adapter/);
    assert.match(auto.reason, /software adapter|no GPU device/, 'auto says why it passed the adapter over');
  }
  await chooseBackend('wasm');
});

test("the backend list lives in one place (protocol.ts): the client's picker, the setting, the settings validation and the CLI's help offer exactly it", () => {
  const names = BACKEND_CHOICES.map((b) => b.name);
  assert.deepEqual(names, ['auto', ...BACKEND_NAMES]);
  assert.deepEqual([...BACKEND_NAMES], ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'], "auto's order of preference");
  assert.match(BACKEND_CHOICES[0].description, new RegExp(BACKEND_NAMES.join(', ')), "auto's description names every backend in order");

  assert.deepEqual(
    backendPickItems(),
    BACKEND_CHOICES.map((b) => ({ label: b.name, description: b.description })),
    "the client's picker",
  );
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
    contributes: { configuration: { properties: Record<string, { enum?: string[]; enumDescriptions?: string[] }> } };
  };
  const setting = pkg.contributes.configuration.properties['influenceLens.backend'];
  assert.deepEqual(setting.enum, names, "package.json's enum");
  assert.deepEqual(
    setting.enumDescriptions,
    BACKEND_CHOICES.map((b) => b.description),
    "package.json's enumDescriptions",
  );
  assert.deepEqual(USAGE.match(/--backend (\S+)/)?.[1].split('|'), names, "the CLI's help");
  for (const name of names) assert.equal(parseBackendRequest(name), name, 'the settings accept it');
  assert.throws(() => parseBackendRequest('metal'), new RegExp(`expected ${names.join(', ')}`));
});
