/* One frame to many sockets in one call, with the GIL released.
 *
 * A fan-out writes the same bytes to thousands of sockets. Through the event loop's
 * transports that is one Python call and one system call per socket, all with the GIL
 * held, so the REST requests' threads wait for the whole fan-out. Here the loop over
 * the sockets runs in C with the GIL released: the other threads run meanwhile.
 *
 * send_many(fds, data) -> [(index, sent), ...]
 *   fds: a buffer of C ints (array("i")) of non-blocking stream sockets;
 *   data: the bytes to write to each.
 * Return the sockets that did not take all of ``data`` at once (the kernel's buffer was
 * full, or an error): their index in ``fds`` and how many bytes they took (0 on an
 * error). The caller hands the rest to the socket's transport, which queues it or sees
 * the error, as for any other write.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

static PyObject *
send_many(PyObject *self, PyObject *args)
{
    Py_buffer fds_buf, data;
    if (!PyArg_ParseTuple(args, "y*y*:send_many", &fds_buf, &data)) {
        return NULL;
    }
    PyObject *result = NULL;
    ssize_t *sent = NULL;
    if (fds_buf.len % (Py_ssize_t)sizeof(int) != 0) {
        PyErr_SetString(PyExc_ValueError, "fds must be a buffer of C ints");
        goto done;
    }
    Py_ssize_t n = fds_buf.len / (Py_ssize_t)sizeof(int);
    const int *fds = (const int *)fds_buf.buf;
    sent = PyMem_RawMalloc((size_t)(n > 0 ? n : 1) * sizeof(ssize_t));
    if (sent == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    const char *bytes = (const char *)data.buf;
    size_t len = (size_t)data.len;

    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        ssize_t r;
        do {
            r = send(fds[i], bytes, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        } while (r < 0 && errno == EINTR);
        sent[i] = r < 0 ? 0 : r;
    }
    Py_END_ALLOW_THREADS

    result = PyList_New(0);
    if (result == NULL) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if ((size_t)sent[i] == len) {
            continue;
        }
        PyObject *item = Py_BuildValue("(nn)", i, (Py_ssize_t)sent[i]);
        if (item == NULL || PyList_Append(result, item) < 0) {
            Py_XDECREF(item);
            Py_CLEAR(result);
            goto done;
        }
        Py_DECREF(item);
    }

done:
    PyMem_RawFree(sent);
    PyBuffer_Release(&fds_buf);
    PyBuffer_Release(&data);
    return result;
}

static PyMethodDef methods[] = {
    {"send_many", send_many, METH_VARARGS,
     "send_many(fds, data) -> [(index, sent)]: write data to every socket, GIL released."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_sendmany", "One frame to many sockets, GIL released.", -1, methods,
};

PyMODINIT_FUNC
PyInit__sendmany(void)
{
    return PyModule_Create(&module);
}
