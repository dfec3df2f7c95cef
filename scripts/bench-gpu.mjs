// `npm run bench:gpu`: checks that this machine can run the WebGPU benchmark, then runs dist/benchGpu.js
// (built beforehand by `npm run build`; nothing is installed or downloaded here), letting batches use half
// the card's memory as nvidia-smi reports it unless INFLUENCE_LENS_GPU_MEMORY_GIB is set. Prints the
// figures as JSON on stdout. Options are passed on: --any-adapter (measure a non-NVIDIA or software adapter too),
// --scale X (documents per pass), --budget-s S (stop measuring after S seconds; default 270), --models,
// --backends. See docs/GPU.md.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const anyAdapter = args.includes('--any-adapter');
const platform = process.platform === 'darwin' ? 'darwin-universal' : `${process.platform}-${process.arch}`;

const missing = [];
const need = (ok, what) => ok || missing.push(what);
need(existsSync(join(root, 'dist', 'benchGpu.js')), 'dist/benchGpu.js: run `npm run build` in the repository first (where its devDependencies are installed)');
need(
  existsSync(join(root, 'node_modules', 'webgpu', 'dist', platform, 'dawn.node')),
  `node_modules/webgpu/dist/${platform}/dawn.node: the optional dependency webgpu@0.6.2 (npm ci installs it)`,
);
need(
  existsSync(join(root, 'node_modules', '@tensorflow', 'tfjs-backend-webgpu')),
  'node_modules/@tensorflow/tfjs-backend-webgpu: the optional dependency @tensorflow/tfjs-backend-webgpu@4.22.0 (npm ci installs it)',
);
if (process.platform === 'linux') {
  const icd = ['/usr/share/vulkan/icd.d/nvidia_icd.json', '/etc/vulkan/icd.d/nvidia_icd.json'].find((f) => existsSync(f));
  if (!anyAdapter) {
    need(
      icd,
      "/usr/share/vulkan/icd.d/nvidia_icd.json: the NVIDIA driver's Vulkan driver (Debian/Ubuntu: the driver's libnvidia-gl / nvidia-vulkan-icd package; in a container, NVIDIA_DRIVER_CAPABILITIES must include graphics). --any-adapter runs on whatever adapter there is",
    );
    need(existsSync('/dev/nvidia0'), '/dev/nvidia0: no NVIDIA GPU device is visible (driver not loaded, or the container was started without the GPU)');
  }
  const loader = spawnSync('/sbin/ldconfig', ['-p'], { encoding: 'utf8' }).stdout ?? '';
  need(
    loader.includes('libvulkan.so.1') ||
      ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib64/libvulkan.so.1', '/usr/lib/libvulkan.so.1'].some((f) => existsSync(f)),
    'libvulkan.so.1: the Vulkan loader (Debian/Ubuntu: apt-get install libvulkan1)',
  );
}
if (missing.length > 0) {
  process.stderr.write(`bench:gpu: cannot run here; missing:\n${missing.map((m) => `  - ${m}\n`).join('')}`);
  process.exit(2);
}

// Batches may use half the card (WebGPU does not say how much memory it has; nvidia-smi does).
if (!process.env.INFLUENCE_LENS_GPU_MEMORY_GIB) {
  const smi = spawnSync('nvidia-smi', ['--query-gpu=memory.total', '--format=csv,noheader,nounits'], { encoding: 'utf8' });
  const mib = Number((smi.stdout ?? '').split('\n')[0]);
  if (smi.status === 0 && mib > 0) process.env.INFLUENCE_LENS_GPU_MEMORY_GIB = String(Math.floor(mib / 2 / 1024));
}

const budget = Number(args[args.indexOf('--budget-s') + 1]) || 270;
rmSync(join(root, '.bench', 'gpu-latest.json'), { force: true }); // only this run's figures are printed on a kill
const child = spawn(process.execPath, [join(root, 'dist', 'benchGpu.js'), ...args], { cwd: root, stdio: 'inherit' });
// The benchmark stops measuring at its deadline; this is the backstop should a device call hang.
const backstop = setTimeout(
  () => {
    process.stderr.write(`bench:gpu: still running ${budget + 60} s after the start: stopped; the figures saved so far follow\n`);
    child.kill('SIGKILL');
    const saved = join(root, '.bench', 'gpu-latest.json');
    if (existsSync(saved)) {
      const report = JSON.parse(readFileSync(saved, 'utf8'));
      report.unfinished = 'killed: a device call did not return';
      process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    }
    process.exit(1);
  },
  (budget + 60) * 1000,
);
child.on('exit', (code, signal) => {
  clearTimeout(backstop);
  process.exit(code ?? (signal ? 1 : 0));
});
