/** Entry point of a compute worker thread (dist/worker.js): its own tfjs backend, its own copy of the model, the engine's task table. */
import { serveTasks } from '../worker/serveTasks';
import { TASK_HANDLERS } from './taskTable';

serveTasks(TASK_HANDLERS);
